"""Follows every link of the sites whose start URLs are pushed to Redis (`sites:start_urls`)."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

from scrapy.http import Response, TextResponse
from scrapy_redis.spiders import RedisSpider


class SitesSpider(RedisSpider):
    name = "sites"
    redis_key = "sites:start_urls"

    async def start(self) -> AsyncIterator[Any]:
        # scrapy-redis 0.9 reads its Redis key in start_requests() (and again when the spider
        # goes idle); Scrapy >= 2.13 starts a spider with start().
        for request in self.start_requests():
            yield request

    def parse(self, response: Response) -> Iterator[Any]:
        yield {"url": response.url, "status": response.status}
        if isinstance(response, TextResponse):
            yield from response.follow_all(css="a", callback=self.parse)
