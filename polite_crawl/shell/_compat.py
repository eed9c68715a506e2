"""Version gates in one place, as named capability flags."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.utils.defer import maybe_deferred_to_future

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response


async def engine_download(crawler: Crawler, request: Request) -> Response:
    """Download through the engine (downloader middlewares apply, the spider is not called)."""
    engine = crawler.engine
    assert engine is not None
    if hasattr(engine, "download_async"):  # Scrapy >= 2.14
        return await engine.download_async(request)
    return await maybe_deferred_to_future(engine.download(request))  # Scrapy 2.13
