"""IPTC "Data Mining" (XMP `plus:DataMining`) embedded in a fetched JPEG, PNG or WebP image.
What each value forbids: DATA_MINING in polite_crawl/signals/xmp.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.core.decision import CheckResult, Outcome, Reason
from polite_crawl.signals import xmp

if TYPE_CHECKING:
    from polite_crawl.core.response_checks import Fetched

NAME = "xmp_data_mining"
PASSED = CheckResult(NAME, Outcome.PASS, Reason.ALLOWED)  # one object: a pass per response


def check(fetched: Fetched) -> CheckResult:
    # No declared purpose any value could forbid (e.g. archiving): the body is not read.
    if not fetched.purposes & xmp.FORBIDDEN_ANYWHERE or fetched.format is None:
        return PASSED
    values = xmp.find(fetched.body)
    for value in values:
        hit = sorted(p.value for p in value.forbids & fetched.purposes)
        if hit:
            return CheckResult(
                NAME,
                Outcome.DENY,
                Reason.OPTOUT_XMP_DATA_MINING,
                {
                    "property": "plus:DataMining",
                    "value": value.raw,
                    "code": value.code,
                    "form": value.form,
                    "where": value.where,
                    "purpose": hit[0],
                    "forbids": sorted(p.value for p in value.forbids),
                    "sha256": fetched.sha256,
                },
            )
    if not values:
        return PASSED
    return CheckResult(NAME, Outcome.PASS, Reason.ALLOWED, {"values": [v.raw for v in values]})
