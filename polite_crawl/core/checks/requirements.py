"""What a platform requires of a crawler it admits: a way to reach its operator, and a pace.

A missing contact refuses the request (with the reason); a minimum delay slows the crawl down
(the Scrapy shell applies it to the host's downloader slot) and is recorded as evidence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.core.checks import OfflineCheck
from polite_crawl.core.decision import CheckResult, Outcome, Reason

if TYPE_CHECKING:
    from polite_crawl.core.context import RequestContext


NO_POLICY = CheckResult("requirements", Outcome.PASS, Reason.NO_POLICY)


def contact_in_user_agent(contact: str | None, user_agent: str) -> bool:
    if not contact:
        return False
    address = contact.removeprefix("mailto:")
    return address.lower() in user_agent.lower()


class RequirementsCheck(OfflineCheck):
    name = "requirements"

    def __init__(self, contact: str | None) -> None:
        self.contact = contact

    def evaluate(self, ctx: RequestContext) -> CheckResult:
        loaded = ctx.platform
        if loaded is None:
            return NO_POLICY
        rules = [loaded.policy.rule_for(p) for p in ctx.purposes]
        evidence: dict[str, object] = {}
        if any(r.contact_required for r in rules):
            evidence["contact"] = self.contact
            if not contact_in_user_agent(self.contact, ctx.user_agent or ""):
                evidence["problem"] = (
                    "POLITE_CRAWL_CONTACT is not set"
                    if not self.contact
                    else "USER_AGENT does not name POLITE_CRAWL_CONTACT"
                )
                return CheckResult(self.name, Outcome.DENY, Reason.TOS_CONTACT_REQUIRED, evidence)
        delay = max((r.min_delay for r in rules), default=0.0)
        if delay:
            evidence["min_delay"] = delay
        return CheckResult(self.name, Outcome.PASS, Reason.ALLOWED, evidence)
