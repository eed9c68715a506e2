"""robots.txt (RFC 9309), fail-closed: an origin whose robots.txt cannot be read is disallowed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.core.checks.scheme import WEB_SCHEMES
from polite_crawl.core.decision import CheckResult, Outcome, Reason
from polite_crawl.robots.state import RobotsState

if TYPE_CHECKING:
    from polite_crawl.core.context import RequestContext
    from polite_crawl.robots.state import RobotsEntry, RobotsStore

PREFLIGHT = "robots"


class RobotsCheck:
    name = "robots"
    network = True

    def __init__(self, store: RobotsStore, *, max_crawl_delay: float = 60.0) -> None:
        self.store = store
        self.max_crawl_delay = max_crawl_delay

    def pending(self, ctx: RequestContext) -> tuple[str, ...]:
        if ctx.origin.scheme not in WEB_SCHEMES or self.store.get(ctx.origin) is not None:
            return ()
        return (PREFLIGHT,)

    def evaluate(self, ctx: RequestContext) -> CheckResult:
        entry = self.store.get(ctx.origin)
        if entry is None:  # never evaluated without a fresh entry: refuse rather than guess
            return CheckResult(
                self.name,
                Outcome.DENY,
                Reason.ROBOTS_UNREACHABLE,
                {"error": "robots.txt not fetched"},
            )
        if entry.state is RobotsState.UNREACHABLE:
            if entry.fallback is None or not entry.fallback_usable:
                return CheckResult(
                    self.name, Outcome.DENY, Reason.ROBOTS_UNREACHABLE, entry.evidence()
                )
            # The RFC lets a crawler keep using a good copy while the origin is unreachable.
            result = self._judge(ctx, entry.fallback)
            evidence = dict(result.evidence, unreachable_since=entry.fetch.fetched_at)
            return CheckResult(self.name, result.outcome, result.reason, evidence)
        return self._judge(ctx, entry)

    def _judge(self, ctx: RequestContext, entry: RobotsEntry) -> CheckResult:
        evidence = entry.evidence()
        if entry.state is RobotsState.UNAVAILABLE or entry.rules is None:
            return CheckResult(self.name, Outcome.PASS, Reason.ROBOTS_UNAVAILABLE, evidence)
        rules = entry.rules
        match = rules.match_path(ctx.path)
        evidence["group"] = rules.matched_token
        evidence["group_lines"] = list(rules.group_lines)
        if match.rule is None:
            evidence["rule"] = None
        else:
            kind = "Allow" if match.rule.allow else "Disallow"
            evidence["rule"] = {"line": match.rule.line, "text": f"{kind}: {match.rule.pattern}"}
        if rules.crawl_delay is not None:
            # Crawl-delay is not in RFC 9309 (§2.2.4 lets crawlers read other records); we honour
            # it up to a cap, and the record shows both what was asked and what was applied.
            evidence["crawl_delay"] = {
                "requested": rules.crawl_delay,
                "applied": min(rules.crawl_delay, self.max_crawl_delay),
                "line": rules.crawl_delay_line,
            }
        if match.allowed:
            return CheckResult(self.name, Outcome.PASS, Reason.ROBOTS_ALLOWED, evidence)
        return CheckResult(self.name, Outcome.DENY, Reason.ROBOTS_DISALLOWED, evidence)
