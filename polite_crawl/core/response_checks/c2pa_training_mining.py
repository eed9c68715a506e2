"""C2PA / CAWG training-and-data-mining assertions embedded in a fetched JPEG, PNG or WebP
image (`constrained` counts as `notAllowed`). What each entry forbids: TRAINING_MINING in
polite_crawl/signals/c2pa.py. The manifest signature is not validated: see there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.core.decision import CheckResult, Outcome, Reason
from polite_crawl.signals import c2pa

if TYPE_CHECKING:
    from polite_crawl.core.response_checks import Fetched

NAME = "c2pa_training_mining"
PASSED = CheckResult(NAME, Outcome.PASS, Reason.ALLOWED)  # one object: a pass per response


def check(fetched: Fetched) -> CheckResult:
    if not fetched.purposes & c2pa.FORBIDDEN_ANYWHERE or fetched.format is None:
        return PASSED
    entries = c2pa.find(fetched.body)
    for entry in entries:
        hit = sorted(p.value for p in entry.forbids & fetched.purposes)
        if hit:
            return CheckResult(
                NAME,
                Outcome.DENY,
                Reason.OPTOUT_C2PA_TRAINING_MINING,
                {
                    "label": entry.label,
                    "entry": entry.entry,
                    "use": entry.use,
                    "where": entry.where,
                    "purpose": hit[0],
                    "forbids": sorted(p.value for p in entry.forbids),
                    "signature": "not validated",
                    "sha256": fetched.sha256,
                },
            )
    if not entries:
        return PASSED
    return CheckResult(
        NAME,
        Outcome.PASS,
        Reason.ALLOWED,
        {"entries": {f"{e.label}/{e.entry}": e.use for e in entries[:32]}},
    )
