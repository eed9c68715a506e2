"""Origins a decision is waiting on, which the per-origin caches must not evict.

A request whose origin lacks a file is parked while a preflight fetches it, then decided again
from the caches. If the cache evicted that origin meanwhile (to make room for others), the
second decision would find nothing and refuse the request. So a cache miss holds the origin
(for every file of the gate's stores: a request may need robots.txt, then tdmrep.json, and the
first must survive the second's fetch) until a lookup finds the missing file.

Holds are few (one per origin with a preflight in flight) but released only by that lookup;
so that a preflight that never completes cannot hold memory forever, at most `limit` are
kept, the oldest dropped first. A dropped hold can only cost a refusal, never an allow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from polite_crawl.core.context import Origin

MAX_HOLDS = 10_000


class Pins:
    def __init__(self, limit: int = MAX_HOLDS) -> None:
        self.limit = limit
        self._held: dict[Origin, set[str]] = {}  # origin -> the files it waits for

    def hold(self, origin: Origin, path: str) -> None:
        files = self._held.get(origin)
        if files is None:
            self._held[origin] = {path}
            while len(self._held) > self.limit:
                del self._held[next(iter(self._held))]
        else:
            files.add(path)

    def release(self, origin: Origin, path: str) -> None:
        files = self._held.get(origin)
        if files is not None:
            files.discard(path)
            if not files:
                del self._held[origin]

    def __contains__(self, origin: object) -> bool:
        return origin in self._held

    def __len__(self) -> int:
        return len(self._held)
