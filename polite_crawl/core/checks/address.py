"""A request must not reach an internal address: loopback, private, link-local (the cloud
metadata service), CGNAT, multicast, reserved or unique-local, in any spelling of the address
(core/addresses.py), unless the operator opened that network for an intranet crawl
(POLITE_CRAWL_ALLOW_INTERNAL_NETWORKS). It runs right after the scheme check, so a start URL, a
redirect target or a preflight redirect hop that points inside is refused before anything, its
robots.txt included, is fetched. Names are judged by their DNS answer
(polite_crawl/shell/dnsguard.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.core.checks import OfflineCheck
from polite_crawl.core.decision import CheckResult, Outcome, Reason

if TYPE_CHECKING:
    from polite_crawl.core.addresses import AddressPolicy
    from polite_crawl.core.context import RequestContext


PASSED = CheckResult("address", Outcome.PASS, Reason.ALLOWED)
_CACHE_LIMIT = 100_000  # hosts remembered; a crawl asks about few hosts many times


class AddressCheck(OfflineCheck):
    name = "address"

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self._seen: dict[str, CheckResult] = {}

    def evaluate(self, ctx: RequestContext) -> CheckResult:
        host = ctx.origin.host
        result = self._seen.get(host)
        if result is None:
            if len(self._seen) >= _CACHE_LIMIT:
                self._seen.clear()
            result = self._seen[host] = self._judge(host)
        return result

    def _judge(self, host: str) -> CheckResult:
        refusal, opened_by = self.policy.judge_host(host)
        if refusal is None:
            return PASSED
        evidence = refusal.evidence(host)
        if opened_by is not None:
            # Allowed, and the record says by which setting: an intranet crawl is visible as one.
            evidence["allowed_by"] = str(opened_by)
            return CheckResult(self.name, Outcome.PASS, Reason.ALLOWED, evidence)
        return CheckResult(self.name, Outcome.DENY, Reason.INTERNAL_ADDRESS, evidence)
