"""AI-use preferences in the origin's robots.txt (Content-Signal, Content-Usage), read from the
copy the robots.txt check fetched: no extra request. Runs after the robots.txt check."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.core.checks.robots import RobotsCheck
from polite_crawl.core.decision import CheckResult, Outcome, Reason
from polite_crawl.robots.state import RobotsState
from polite_crawl.signals.content_signal import refusals

if TYPE_CHECKING:
    from polite_crawl.core.context import RequestContext

_REASONS = {
    "content-signal": Reason.OPTOUT_CONTENT_SIGNAL,
    "content-usage": Reason.OPTOUT_CONTENT_USAGE,
}


class ContentSignalCheck(RobotsCheck):
    name = "content_signal"

    def evaluate(self, ctx: RequestContext) -> CheckResult:
        entry = self.store.get(ctx.origin)
        if entry is not None and entry.state is RobotsState.UNREACHABLE:
            entry = entry.fallback if entry.fallback_usable else None
        if entry is None or entry.rules is None:
            return CheckResult(self.name, Outcome.PASS, Reason.ALLOWED)
        extensions = [e for group in entry.rules.groups for e in group.extensions]
        found = refusals(extensions, ctx.path, ctx.purposes)
        if not found:
            return CheckResult(self.name, Outcome.PASS, Reason.ALLOWED)
        first = found[0]
        return CheckResult(
            self.name,
            Outcome.DENY,
            _REASONS[first.record],
            {
                "robots_url": entry.fetch.robots_url,
                "sha256": entry.sha256,
                "line": first.line,
                "text": first.text,
                "category": first.category,
                "purpose": first.purpose.value,
            },
        )
