"""AI-use preferences in the origin's robots.txt (Content-Signal, Content-Usage), read from the
copy the robots.txt check fetched: no extra request. Runs after the robots.txt check."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.core.checks.robots import RobotsCheck
from polite_crawl.core.checks.scheme import WEB_SCHEMES
from polite_crawl.core.decision import CheckResult, NeedsPreflight, Outcome, Reason
from polite_crawl.signals.content_signal import refusals

if TYPE_CHECKING:
    from polite_crawl.core.context import RequestContext
    from polite_crawl.core.decision import Evidence
    from polite_crawl.robots.rules import Rules

_REASONS = {
    "content-signal": Reason.OPTOUT_CONTENT_SIGNAL,
    "content-usage": Reason.OPTOUT_CONTENT_USAGE,
}


class ContentSignalCheck(RobotsCheck):
    name = "content_signal"

    def evaluate(self, ctx: RequestContext) -> CheckResult | NeedsPreflight:
        # Where robots.txt could not be read the robots check has answered already; only a
        # robots.txt that was read (or its good copy standing in) can say more.
        if ctx.origin.scheme not in WEB_SCHEMES:
            return super().evaluate(ctx)
        entry = self.store.get(ctx.origin)
        if entry is None:  # expired since the robots check looked: fetched again first
            return self.needs
        governing = entry.in_force()
        if governing is None or governing.content is None:
            return self.passed
        doc = governing.content.doc()
        if not doc.extensions:  # the common case: no AI-use preferences stated
            return self.passed
        return self.judge(ctx, doc, self.cite(governing))

    def judge(self, ctx: RequestContext, doc: Rules, evidence: Evidence) -> CheckResult:
        found = refusals(doc.extensions, ctx.path, ctx.purposes)
        if not found:
            return self.passed
        first = found[0]
        return CheckResult(
            self.name,
            Outcome.DENY,
            _REASONS[first.record],
            {
                "robots_url": evidence["robots_url"],
                "sha256": evidence["sha256"],
                "line": first.line,
                "text": first.text,
                "category": first.category,
                "purpose": first.purpose.value,
            },
        )
