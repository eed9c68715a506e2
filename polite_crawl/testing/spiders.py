"""Spiders for tests and the demo: one that follows every link and image it sees, and one
that hands each page's images to Scrapy's stock ImagesPipeline.

Start URLs come from the MOCKWEB_START_URLS setting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import scrapy

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from scrapy.http import Response


class FollowAllSpider(scrapy.Spider):
    name = "follow_all"

    async def start(self) -> AsyncIterator[Any]:
        for url in self.settings.getlist("MOCKWEB_START_URLS"):
            yield scrapy.Request(url, callback=self.parse, errback=self.refused)

    def parse(self, response: Response) -> Iterator[Any]:
        yield {"url": response.url, "status": response.status}
        if not isinstance(response, scrapy.http.TextResponse):
            return
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href, callback=self.parse, errback=self.refused)
        for src in response.css("img::attr(src)").getall():
            yield response.follow(src, callback=self.parse, errback=self.refused)

    def refused(self, failure: Any) -> None:
        self.crawler.stats.inc_value(f"test/errback/{type(failure.value).__name__}")


class ImagesSpider(scrapy.Spider):
    """Each start page's `<img>` sources, as one item for ImagesPipeline (needs IMAGES_STORE):
    image requests made by the pipeline, not by the spider."""

    name = "images"
    custom_settings = {"ITEM_PIPELINES": {"scrapy.pipelines.images.ImagesPipeline": 1}}

    async def start(self) -> AsyncIterator[Any]:
        for url in self.settings.getlist("MOCKWEB_START_URLS"):
            yield scrapy.Request(url)

    def parse(self, response: Response) -> Iterator[Any]:
        yield {
            "image_urls": [response.urljoin(s) for s in response.css("img::attr(src)").getall()]
        }
