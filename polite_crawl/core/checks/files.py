"""The common shape of the checks that read an origin-level file (robots.txt, tdmrep.json,
ai.txt) fetched by an origin preflight, and only when a declared purpose makes the file
relevant: a crawl that cannot be concerned by a file never asks for it.

Every such file fails closed the same way (RFC 9309 §2.3.1 for robots.txt, applied to all):
unreachable means refused for the purposes the file concerns, unless an earlier good copy may
stand in; 4xx means there is no file, and nothing is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic

from polite_crawl.core.checks.scheme import WEB_SCHEMES
from polite_crawl.core.decision import CheckResult, Evidence, NeedsPreflight, Outcome, Reason
from polite_crawl.core.purposes import Purpose
from polite_crawl.origin.store import Doc, FileState

if TYPE_CHECKING:
    from polite_crawl.core.context import RequestContext
    from polite_crawl.origin.store import Entry, OriginStore

# What a file says about its origin is cited by every decision on that origin: it is built once
# per entry and copied (shallow: the values are scalars and tuples). Bounded; a new entry (a
# refetch) is a new key. It keeps up to this many entries alive after the store evicted them:
# a few MB at most, against the store's 100,000.
_CITED_LIMIT = 4096


_PASS, _UNAVAILABLE = Outcome.PASS, FileState.UNAVAILABLE  # read once (see robots.py)


class FileCheck(Generic[Doc]):
    name = "file"
    network = True
    preflight = "file"  # the preflight kind that fetches the file
    relevant: frozenset[Purpose] = frozenset(Purpose)
    unreachable: Reason = Reason.ROBOTS_UNREACHABLE
    unavailable: Reason = Reason.ALLOWED  # the reason when there is no file (4xx)

    def __init__(self, store: OriginStore[Doc]) -> None:
        self.store = store
        self.needs = NeedsPreflight((self.preflight,))
        self.passed = CheckResult(self.name, Outcome.PASS, Reason.ALLOWED)
        self._cited: dict[int, tuple[Entry[Doc], Evidence]] = {}

    def evaluate(self, ctx: RequestContext) -> CheckResult | NeedsPreflight:
        if ctx.origin.scheme not in WEB_SCHEMES:  # no such file can exist: refuse, never guess
            error = f"no {self.store.path} for a {ctx.origin.scheme}: URL"
            return CheckResult(self.name, Outcome.DENY, self.unreachable, {"error": error})
        if self.relevant.isdisjoint(ctx.purposes):
            return self.passed
        entry = self.store.get(ctx.origin)
        if entry is None:  # missing or expired: fetched first, never guessed
            return self.needs
        governing = entry.in_force()
        if governing is None:  # unreachable, and no earlier good copy may stand in
            return CheckResult(self.name, Outcome.DENY, self.unreachable, self.cite(entry))
        evidence = self.cite(governing)
        if governing is not entry:
            evidence["unreachable_since"] = entry.fetched_at
        if governing.state is _UNAVAILABLE or governing.content is None:
            return CheckResult(self.name, _PASS, self.unavailable, evidence)
        return self.judge(ctx, governing.content.doc(), evidence)

    def cite(self, entry: Entry[Doc]) -> Evidence:
        """A fresh copy of what decisions cite of entry (see evidence())."""
        cited = self._cited.get(id(entry))
        if cited is None or cited[0] is not entry:
            if len(self._cited) >= _CITED_LIMIT:
                self._cited.clear()
            cited = self._cited[id(entry)] = (entry, self.evidence(entry))
        return dict(cited[1])

    def evidence(self, entry: Entry[Doc]) -> Evidence:
        """What a decision cites of the file: its URL and sha256 find the preflight record."""
        evidence = entry.evidence()
        evidence["url"] = evidence.pop("robots_url")
        return evidence

    def judge(self, ctx: RequestContext, doc: Doc, evidence: Evidence) -> CheckResult:
        """The answer from a file that was read (evidence: a copy of what to cite, to add to)."""
        raise NotImplementedError
