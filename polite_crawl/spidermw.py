"""The spider middleware: remembers which page each request was found on (its `via`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy import Request

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

    from scrapy.crawler import Crawler
    from scrapy.http import Response

    # typing.Self requires Python 3.11
    from typing_extensions import Self

VIA_META = "polite_crawl_via"


class PoliteSpiderMiddleware:
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls()

    def process_spider_output(
        self, response: Response, result: Iterable[Any], spider: Any = None
    ) -> Iterable[Any]:
        for item in result:
            yield self._tag(response, item)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any], spider: Any = None
    ) -> AsyncIterator[Any]:
        async for item in result:
            yield self._tag(response, item)

    @staticmethod
    def _tag(response: Response, item: Any) -> Any:
        if isinstance(item, Request) and VIA_META not in item.meta:
            item.meta[VIA_META] = response.url
        return item
