"""The common shape of the checks that read an origin-level file (robots.txt, tdmrep.json,
ai.txt) fetched by an origin preflight, and only when a declared purpose makes the file
relevant: a crawl that cannot be concerned by a file never asks for it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic

from polite_crawl.core.checks.scheme import WEB_SCHEMES
from polite_crawl.core.context import Purpose
from polite_crawl.core.decision import CheckResult, Evidence, Outcome, Reason
from polite_crawl.robots.state import Doc

if TYPE_CHECKING:
    from polite_crawl.core.context import RequestContext
    from polite_crawl.robots.state import Entry, OriginStore


class FileCheck(Generic[Doc]):
    name = "file"
    network = True
    preflight = "file"  # the preflight kind that fetches the file
    relevant: frozenset[Purpose] = frozenset(Purpose)
    unreachable: Reason = Reason.ROBOTS_UNREACHABLE

    def __init__(self, store: OriginStore[Doc]) -> None:
        self.store = store

    def concerns(self, ctx: RequestContext) -> bool:
        return ctx.origin.scheme in WEB_SCHEMES and bool(ctx.purposes & self.relevant)

    def pending(self, ctx: RequestContext) -> tuple[str, ...]:
        if not self.concerns(ctx) or self.store.get(ctx.origin) is not None:
            return ()
        return (self.preflight,)

    def evaluate(self, ctx: RequestContext) -> CheckResult:
        if not self.concerns(ctx):
            return CheckResult(self.name, Outcome.PASS, Reason.ALLOWED)
        entry = self.store.get(ctx.origin)
        if entry is None:  # never evaluated without a fresh entry: refuse rather than guess
            return CheckResult(
                self.name, Outcome.DENY, self.unreachable, {"error": f"{self.name} not fetched"}
            )
        governing = entry.in_force()
        if governing is None:  # unreachable, and no earlier good copy may stand in: fail closed
            return CheckResult(self.name, Outcome.DENY, self.unreachable, file_evidence(entry))
        result = self.judge(ctx, governing)
        if governing is not entry:
            evidence = dict(result.evidence, unreachable_since=entry.fetch.fetched_at)
            return CheckResult(self.name, result.outcome, result.reason, evidence)
        return result

    def judge(self, ctx: RequestContext, entry: Entry[Doc]) -> CheckResult:
        """The answer from a file in force (PARSED or UNAVAILABLE)."""
        raise NotImplementedError


def file_evidence(entry: Entry[Doc]) -> Evidence:
    """What a decision cites of the file: its URL and sha256 find the preflight record."""
    evidence = entry.evidence()
    evidence["url"] = evidence.pop("robots_url")
    return evidence
