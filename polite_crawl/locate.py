"""Finding the crawl's gate from its other components (the spider middleware, the response
recorder), which Scrapy builds separately."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from polite_crawl.middlewares import PoliteDownloaderMiddleware


def gate_of(crawler: Crawler) -> PoliteDownloaderMiddleware | None:
    from polite_crawl.middlewares import PoliteDownloaderMiddleware

    engine = crawler.engine
    middlewares = engine.downloader.middleware.middlewares if engine else ()
    return next((m for m in middlewares if isinstance(m, PoliteDownloaderMiddleware)), None)
