"""Opt-out signals a request inherited from the page that linked it (meta robots, X-Robots-Tag),
judged before anything is fetched. Offline: the page was already fetched and read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.core.checks import OfflineCheck
from polite_crawl.core.decision import CheckResult, Outcome, Reason
from polite_crawl.signals.mapping import TDM_RESERVED, UNREADABLE_HEAD, forbidden

if TYPE_CHECKING:
    from polite_crawl.core.context import RequestContext
    from polite_crawl.core.purposes import Kind, Purpose

REASONS = {
    "noai": Reason.OPTOUT_NOAI,
    "noimageai": Reason.OPTOUT_NOIMAGEAI,
    "noindex": Reason.OPTOUT_NOINDEX,
    "noimageindex": Reason.OPTOUT_NOIMAGEINDEX,
    TDM_RESERVED: Reason.TDMREP_RESERVED,
    UNREADABLE_HEAD: Reason.OPTOUT_UNREADABLE_HEAD,
}


PASSED = CheckResult("signals", Outcome.PASS, Reason.ALLOWED)


class SignalsCheck(OfflineCheck):
    name = "signals"

    def evaluate(self, ctx: RequestContext) -> CheckResult:
        if not ctx.signals:
            return PASSED
        hits = forbidden(ctx.signals, ctx.purposes, ctx.kind)
        if not hits:
            return CheckResult(
                self.name,
                Outcome.PASS,
                Reason.ALLOWED,
                {"directives": sorted(ctx.signals), "from": ctx.signals_from},
            )
        return refusal(self.name, hits[0], ctx.kind, ctx.signals_from, ctx.signals)


def refusal(
    check: str,
    hit: tuple[str, Purpose],
    kind: Kind,
    source: str | None,
    found: frozenset[str],
) -> CheckResult:
    """The DENY of a check that found a directive forbidding a purpose: one evidence shape for
    the signals judged before the fetch and after it."""
    directive, purpose = hit
    return CheckResult(
        check,
        Outcome.DENY,
        REASONS[directive],
        {
            "directive": directive,
            "purpose": purpose.value,
            "kind": kind.value,
            "from": source,
            "directives": sorted(found),
        },
    )
