"""The response's own `tdm-reservation` header (TDMRep): `1` reserves text and data mining of
this resource, so a mining crawl does not keep it. (A reservation in /.well-known/tdmrep.json is
honoured before the fetch; a page's meta tag drops its items, see shell/links.py.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.core.decision import CheckResult, Outcome, Reason
from polite_crawl.signals.mapping import TEXT_AND_DATA_MINING
from polite_crawl.signals.tdmrep import header_reservation

if TYPE_CHECKING:
    from polite_crawl.core.response_checks import Fetched

NAME = "tdmrep"
PASSED = CheckResult(NAME, Outcome.PASS, Reason.ALLOWED)  # one object: a pass per response


def check(fetched: Fetched) -> CheckResult:
    mining = fetched.purposes & TEXT_AND_DATA_MINING
    if not mining:
        return PASSED
    values = fetched.header("tdm-reservation")
    if not header_reservation(values):
        return PASSED
    return CheckResult(
        NAME,
        Outcome.DENY,
        Reason.TDMREP_RESERVED,
        {
            "from": "the response's tdm-reservation header",
            "values": [v[:200] for v in values[:8]],
            "purposes": sorted(p.value for p in mining),
        },
    )
