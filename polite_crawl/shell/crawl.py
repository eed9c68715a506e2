"""Finding the crawl's gate from its other components (the spider middleware, the response
recorder), which Scrapy builds separately."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    # typing.Self requires Python 3.11
    from typing_extensions import Self

    from polite_crawl.shell.decide import PoliteDownloaderMiddleware


def gate_of(crawler: Crawler) -> PoliteDownloaderMiddleware | None:
    from polite_crawl.shell.decide import PoliteDownloaderMiddleware

    engine = crawler.engine
    middlewares = engine.downloader.middleware.middlewares if engine else ()
    return next((m for m in middlewares if isinstance(m, PoliteDownloaderMiddleware)), None)


class GateClient:
    """Base of the components that consult the gate: built from the crawler, and finding the
    gate on first use (Scrapy builds the downloader middlewares before it needs them)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._gate: PoliteDownloaderMiddleware | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _find_gate(self) -> PoliteDownloaderMiddleware | None:
        if self._gate is None:
            self._gate = gate_of(self.crawler)
        return self._gate
