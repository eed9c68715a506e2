"""Paced requests back to the scheduler: a request whose host's turn in the fleet is further away
than POLITE_CRAWL_FLEET_PARK_AFTER stops waiting at the wire, where it holds one of Scrapy's
download slots (CONCURRENT_REQUESTS) that other hosts' requests could use, and comes back when
its turn could be.

The wire raises Parked (fleet_wire.py); this middleware, next to the downloader, turns it into a
copy of the request handed back to the engine; the engine's `request_scheduled` signal, where a
handler may drop a request, holds the copy here until the time the fleet named, then gives it to
the engine again (into the scheduler: with scrapy-redis, the fleet's shared queue, so any worker
may take it). The copy is decided again on its way out, with its own record: the one before
it allowed a request that never left.

While a request is held the spider is not idle (a crawl never closes on requests it still owes).
A crash or a forced stop loses the held requests, as it loses the requests waiting in Scrapy's
downloader; a close for another reason (CLOSESPIDER_*, a shutdown) says how many were held.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest

from polite_crawl.shell.crawl import CrawlComponent
from polite_crawl.shell.parked import Parked, ParkingLot

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

PRIORITY = 980  # next to the downloader: the first process_exception to see the wire's Parked


class ParkingMiddleware(CrawlComponent):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        # Registered for the crawl (parked.lot_of): the wire parks only where this middleware
        # takes requests back. It does not start the crawl's state: the decision middleware
        # does, and a crawl without it must still say so.
        self.lot = ParkingLot(crawler)
        crawler.signals.connect(self._scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(self._idle, signal=signals.spider_idle)
        crawler.signals.connect(self._closed, signal=signals.spider_closed)

    def process_exception(
        self, request: Request, exception: BaseException, spider: Any = None
    ) -> Request | None:
        if not isinstance(exception, Parked):
            return None
        copy = request.replace(dont_filter=True)  # seen already: the dupefilter must let it in
        self.lot.mark(copy, exception.wait)
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("polite_crawl/fleet/parked")
        return copy

    def _scheduled(self, request: Request) -> None:
        if self.lot.take(request):
            raise IgnoreRequest("held back until the fleet's turn at its host")

    def _idle(self) -> None:
        if len(self.lot):
            raise DontCloseSpider

    def _closed(self, reason: str) -> None:
        dropped = self.lot.close()
        if dropped:
            logger.warning(
                "polite_crawl: the crawl closed (%(reason)s) with %(n)d paced request(s) held "
                "back for their host's turn; they were not sent",
                {"reason": reason, "n": dropped},
            )
            if self.crawler.stats is not None:
                self.crawler.stats.set_value("polite_crawl/fleet/parked_dropped", dropped)
