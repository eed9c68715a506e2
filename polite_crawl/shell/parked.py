"""The requests a fleet's pacing sent back (parking.py): the exception the wire raises, and
where the copies wait for their time. Apart from parking.py so that the crawl's state can name
the lot without importing the middleware."""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

# The parking middleware's lot, per crawl: the wire sends a request back only where the
# middleware is there to take it (a crawl listing the components by hand may lack it).
_LOTS: weakref.WeakKeyDictionary[Crawler, ParkingLot] = weakref.WeakKeyDictionary()


def lot_of(crawler: Crawler) -> ParkingLot | None:
    return _LOTS.get(crawler)


class Parked(Exception):
    """Raised at the wire: not sent; ask again in `wait` seconds."""

    def __init__(self, url: str, wait: float) -> None:
        super().__init__(f"{url}: the fleet's turn at its host is {wait:.3f} s away")
        self.wait = wait


class ParkingLot:
    """The requests held back, each until its time; by object identity (as the gate's tickets:
    nothing spider code can forge through meta)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        _LOTS[crawler] = self
        self.marked: weakref.WeakKeyDictionary[Request, float] = weakref.WeakKeyDictionary()
        self.held: dict[int, tuple[Request, asyncio.TimerHandle]] = {}

    def __len__(self) -> int:
        return len(self.held)

    def mark(self, request: Request, wait: float) -> None:
        self.marked[request] = wait

    def take(self, request: Request) -> bool:
        """Hold request if it was marked; whether it was."""
        wait = self.marked.pop(request, None)
        if wait is None:
            return False
        handle = asyncio.get_event_loop().call_later(wait, self._release, id(request))
        self.held[id(request)] = (request, handle)
        return True

    def _release(self, key: int) -> None:
        request, _ = self.held.pop(key)
        engine = self.crawler.engine
        if engine is None or engine.spider is None:
            return  # closing: counted as dropped by close()
        engine.crawl(request)

    def close(self) -> int:
        dropped = len(self.held)
        for _, handle in self.held.values():
            handle.cancel()
        self.held.clear()
        return dropped
