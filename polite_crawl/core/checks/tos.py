"""The platform's Terms of Service for the declared purposes, and consent grants. Offline.

Every declared purpose must be permitted: the crawl's data will be used for all of them. A
purpose the terms prohibit outright is refused even with a grant; a purpose that needs consent
is refused unless one grant in force covers the platform, every such purpose and the URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polite_crawl.core.checks import OfflineCheck
from polite_crawl.core.decision import CheckResult, Outcome, Reason
from polite_crawl.policy.consent import find_grant
from polite_crawl.policy.model import Stance

if TYPE_CHECKING:
    import datetime
    from collections.abc import Callable, Sequence

    from polite_crawl.core.context import RequestContext
    from polite_crawl.core.purposes import Purpose
    from polite_crawl.policy.consent import Grant
    from polite_crawl.policy.loader import LoadedPolicy
    from polite_crawl.policy.model import Rule


NO_POLICY = CheckResult("tos", Outcome.PASS, Reason.NO_POLICY)


def clause_evidence(loaded: LoadedPolicy, purpose: Purpose | None, rule: Rule) -> dict[str, Any]:
    source = loaded.policy.source(rule.source)
    cited: dict[str, Any] = {
        "title": source.title,
        "url": source.url,
        "date": source.date.isoformat(),
        "grade": (rule.grade or source.grade).value,
        "quote": source.quote,
        "section": source.section,
    }
    if source.no_quote:
        # Why the record carries no quote (the text was not read...): the reader of an audit
        # record must not take a missing quote for an omission.
        cited["no_quote"] = source.no_quote
    return {
        "purpose": purpose.value if purpose else None,
        "stance": rule.stance.value,
        "clause": rule.clause,
        "source": cited,
    }


class TosCheck(OfflineCheck):
    name = "tos"

    def __init__(
        self,
        grants: Sequence[Grant],
        today: Callable[[], datetime.date],
        consents_sha256: str | None = None,
    ) -> None:
        self.grants = tuple(grants)
        self.today = today
        self.consents_sha256 = consents_sha256

    def evaluate(self, ctx: RequestContext) -> CheckResult:
        loaded = ctx.platform
        if loaded is None:
            return NO_POLICY
        policy = loaded.policy
        evidence: dict[str, Any] = {"policy": policy.id, "policy_sha256": loaded.sha256}
        rules = sorted(((p, policy.rule_for(p)) for p in ctx.purposes), key=lambda pr: pr[0].value)
        prohibited = [(p, r) for p, r in rules if r.stance is Stance.PROHIBITED]
        if prohibited:
            purpose, rule = prohibited[0]
            evidence.update(clause_evidence(loaded, purpose, rule))
            return CheckResult(self.name, Outcome.DENY, Reason.TOS_PROHIBITED, evidence)
        needs = [(p, r) for p, r in rules if r.stance is Stance.CONSENT_REQUIRED]
        if not needs:
            evidence["stance"] = Stance.ALLOWED.value
            return CheckResult(self.name, Outcome.PASS, Reason.TOS_ALLOWED, evidence)
        grant, why = find_grant(
            self.grants, policy.id, [p for p, _ in needs], ctx.url, self.today()
        )
        purpose, rule = needs[0]
        evidence.update(clause_evidence(loaded, purpose, rule))
        evidence["consent_needed_for"] = [p.value for p, _ in needs]
        if grant is None:
            evidence["consent"] = why
            return CheckResult(self.name, Outcome.DENY, Reason.TOS_CONSENT_REQUIRED, evidence)
        evidence["consent"] = {
            "grant": grant.id,
            "granted_by": grant.granted_by,
            "evidence_url": grant.evidence_url,
            "evidence_sha256": grant.evidence_sha256,
            "valid_until": grant.valid_until.isoformat(),
            "consents_sha256": self.consents_sha256,
        }
        return CheckResult(self.name, Outcome.PASS, Reason.CONSENT_GRANTED, evidence)
