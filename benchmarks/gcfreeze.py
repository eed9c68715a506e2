"""A Scrapy extension for the benchmarks' `--gc-freeze` arm: when the spider opens, collect once
and freeze everything alive (gc.freeze()), so that later full collections skip the objects
start-up made (modules, settings, policies). Put in both arms alike: it makes any Scrapy
process's full collections cheaper, so it is a measurement of garbage collection's share, not
a saving of the add-on's (docs/benchmarks.md, #21)."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

from scrapy import signals

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    # typing.Self requires Python 3.11
    from typing_extensions import Self


class GcFreeze:
    def __init__(self, crawler: Crawler) -> None:
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def spider_opened(self) -> None:
        gc.collect()
        gc.freeze()
