"""The gate: runs the checks in order and returns one Decision with the full trace.

Checks that need no network run first, so that a refusal they can give costs no traffic at all.
A check that needs an origin preflight (robots.txt, ...) that is not yet known makes the gate
answer `Pending`; the caller fetches the preflight and asks again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from polite_crawl.core.decision import CheckResult, Decision, Evidence, Outcome, Reason, Verdict

if TYPE_CHECKING:
    from collections.abc import Sequence

    from polite_crawl.core.context import Origin, RequestContext


class Check(Protocol):
    """One question asked of every request. Implementations live in core/checks/."""

    name: str
    network: bool  # True if the check may need an origin preflight

    def pending(self, ctx: RequestContext) -> tuple[str, ...]:
        """Preflight kinds this check still needs for ctx's origin (empty when ready)."""
        ...

    def evaluate(self, ctx: RequestContext) -> CheckResult: ...


@dataclass(frozen=True, slots=True)
class Pending:
    origin: Origin
    kinds: tuple[str, ...]


class Gate:
    def __init__(self, checks: Sequence[Check]) -> None:
        # Stable sort: offline checks keep their order and all come before network ones.
        self.checks: tuple[Check, ...] = tuple(sorted(checks, key=lambda c: c.network))

    def decide(self, ctx: RequestContext) -> Decision | Pending:
        trace: list[CheckResult] = []
        for check in self.checks:
            if check.network:
                kinds = check.pending(ctx)
                if kinds:
                    return Pending(ctx.origin, kinds)
            result = check.evaluate(ctx)
            trace.append(result)
            if result.outcome is Outcome.DENY:
                return Decision(Verdict.DENY, result.reason, _evidence(trace), tuple(trace))
            if result.outcome is Outcome.ALLOW:
                return Decision(Verdict.ALLOW, result.reason, _evidence(trace), tuple(trace))
        last = trace[-1].reason if trace else Reason.ALLOWED
        return Decision(Verdict.ALLOW, last, _evidence(trace), tuple(trace))

    def offline_refusal(self, ctx: RequestContext) -> CheckResult | None:
        """The first refusal of the checks that need no network, if any."""
        for check in self.checks:
            if check.network:
                break
            result = check.evaluate(ctx)
            if result.outcome is Outcome.DENY:
                return result
        return None


def _evidence(trace: list[CheckResult]) -> Evidence:
    return {r.check: r.evidence for r in trace if r.evidence}
