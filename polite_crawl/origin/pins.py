"""Origins with a preflight in flight, which the per-origin caches must not evict.

A request whose origin lacks a file is parked while a preflight fetches it, then decided again
from the caches. If a cache evicted that origin meanwhile (other preflights completing first),
the second decision would find nothing and refuse the request. So whoever waits for a
preflight holds the origin until the wait is over; the decision that follows reads the caches
at once. One set of holds serves all of a gate's stores: a request may need robots.txt, then
tdmrep.json, and the first must survive the second's fetch.

Holds are counted (several requests may wait on one origin) and always released by the waiter
itself, so they are as many as the requests parked at once.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from polite_crawl.core.context import Origin


class Pins:
    def __init__(self) -> None:
        self._held: dict[Origin, int] = {}

    def hold(self, origin: Origin) -> None:
        self._held[origin] = self._held.get(origin, 0) + 1

    def release(self, origin: Origin) -> None:
        count = self._held.get(origin, 0) - 1
        if count > 0:
            self._held[origin] = count
        else:
            self._held.pop(origin, None)

    @contextlib.contextmanager
    def holding(self, origin: Origin) -> Iterator[None]:
        self.hold(origin)
        try:
            yield
        finally:
            self.release(origin)

    def __contains__(self, origin: object) -> bool:
        return origin in self._held

    def __len__(self) -> int:
        return len(self._held)
