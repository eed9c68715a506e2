"""The gate: runs the checks in order and returns one Decision with the full trace.

Checks that need no network run first, so that a refusal they can give costs no traffic at all.
A check that needs an origin preflight (robots.txt, ...) that is not yet known makes the gate
answer `Pending`; the caller fetches the preflight and asks again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from polite_crawl.core.decision import (
    CheckResult,
    Decision,
    Evidence,
    NeedsPreflight,
    Outcome,
    Reason,
    Verdict,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from polite_crawl.core.context import Origin, RequestContext


# Enum members read from the class cost a descriptor call each; the gate reads them per check.
_PASS, _ALLOW = Outcome.PASS, Outcome.ALLOW
_ALLOWED, _DENIED = Verdict.ALLOW, Verdict.DENY


class Check(Protocol):
    """One question asked of every request. Implementations live in core/checks/."""

    name: str
    network: bool  # True if the check may need an origin preflight

    def evaluate(self, ctx: RequestContext) -> CheckResult | NeedsPreflight:
        """The check's answer; a network check answers NeedsPreflight while the file it reads
        for ctx's origin is not known (an offline check never does)."""
        ...


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
            result = check.evaluate(ctx)
            if isinstance(result, NeedsPreflight):
                return Pending(ctx.origin, result.kinds)
            trace.append(result)
            outcome = result.outcome
            if outcome is _PASS:
                continue
            # Only an explicit early ALLOW allows; DENY, or anything a faulty check invents,
            # refuses.
            verdict = _ALLOWED if outcome is _ALLOW else _DENIED
            return Decision(verdict, result.reason, _evidence(trace), tuple(trace))
        last = trace[-1].reason if trace else Reason.ALLOWED
        return Decision(Verdict.ALLOW, last, _evidence(trace), tuple(trace))

    def offline_refusal(self, ctx: RequestContext) -> CheckResult | None:
        """The first refusal of the checks that need no network, if any."""
        for check in self.checks:
            if check.network:
                break
            result = check.evaluate(ctx)
            if isinstance(result, CheckResult) and result.outcome is Outcome.DENY:
                return result
        return None


def _evidence(trace: list[CheckResult]) -> Evidence:
    return {r.check: r.evidence for r in trace if r.evidence}
