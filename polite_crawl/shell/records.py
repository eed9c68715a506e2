"""The audit records a crawl writes, built from the decision core's own objects (their keys and
meaning: docs/audit.md, "What is in it")."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from polite_crawl.core.decision import Outcome

if TYPE_CHECKING:
    from scrapy.http import Response

    from polite_crawl.core.context import RequestContext
    from polite_crawl.core.decision import Decision
    from polite_crawl.core.purposes import Purpose
    from polite_crawl.fleet.origins import Obtained
    from polite_crawl.origin.store import Entry, FetchResult

# What a decision record keeps of the robots.txt it rests on: enough to find the preflight record
# (URL and sha256) and the rule. The fetch itself (final URL, time, state) is in that record.
_ROBOTS_KEYS = (
    "robots_url",
    "sha256",
    "status",
    "group",
    "rule",
    "crawl_delay",
    "error",
    "unreachable_since",
    "truncated",
)


def decision(
    ctx: RequestContext, decision: Decision, *, mode: str, enforced: bool, via: str | None
) -> dict[str, Any]:
    evidence = dict(decision.evidence)
    robots = evidence.get("robots")
    if isinstance(robots, dict):
        evidence["robots"] = {k: robots[k] for k in _ROBOTS_KEYS if k in robots}
    return {
        "type": "decision",
        "url": ctx.url,
        "method": ctx.method,
        "platform": ctx.platform.id if ctx.platform else None,
        "purposes": list(_names(ctx.purposes)),
        "mode": mode,
        "enforced": enforced,
        "via": via,
        "decision": decision.verdict.value,
        "reason": decision.reason.value,
        "evidence": evidence,
        # every check that ran, in order, as check:outcome
        "trace": " ".join(f"{r.check}:{_OUTCOMES[r.outcome]}" for r in decision.trace),
    }


# A crawl has one set of purposes and three outcomes: their names are looked up, not rebuilt
# for every record.
@functools.lru_cache(maxsize=16)
def _names(purposes: frozenset[Purpose]) -> tuple[str, ...]:
    return tuple(sorted(p.value for p in purposes))


_OUTCOMES = {outcome: outcome.value for outcome in Outcome}


def preflight(
    kind: str, result: FetchResult, entry: Entry[Any], fleet: Obtained | None = None
) -> dict[str, Any]:
    """An origin-level file fetched (kind: robots, tdmrep, aitxt); in a fleet, possibly by
    another worker (`fleet`: who, and under which fencing number)."""
    evidence = entry.evidence()
    if kind != "robots":  # robots_url is the robots.txt record's key; other files say url
        evidence["url"] = evidence.pop("robots_url")
    record = {"type": "preflight", "kind": kind, "url": result.robots_url, "evidence": evidence}
    if fleet is not None:
        record["fleet"] = {"fetched_by": fleet.worker, "fence": fleet.fence, "here": fleet.here}
    return record


def fetched(url: str, response: Response) -> dict[str, Any]:
    return {
        "type": "fetched",
        "url": url,
        "status": response.status,
        "bytes": len(response.body),
        "cached": "cached" in response.flags,
    }
