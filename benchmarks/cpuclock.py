"""A Scrapy extension for the crawl-overhead benchmark: the CPU seconds the crawl process spent
between spider_opened and spider_closed (all threads), as the stat `benchmark/cpu_seconds`, and
those of the reactor thread alone as `benchmark/reactor_cpu_seconds`.

Scrapy's `elapsed_time_seconds` is wall time and moves with whatever else the machine runs; the
CPU time of the same window is the work the crawl itself did, and moves much less.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from scrapy import signals

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    # typing.Self requires Python 3.11
    from typing_extensions import Self

STAT = "benchmark/cpu_seconds"
# The reactor thread's own CPU seconds: a crawl that keeps its reactor busy goes as fast as that
# one thread, while work in other threads (the audit log's fdatasync) can overlap it.
REACTOR_STAT = "benchmark/reactor_cpu_seconds"


class CpuClock:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.started = self.reactor_started = 0.0
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def spider_opened(self) -> None:
        self.started = time.process_time()
        self.reactor_started = time.thread_time()  # signals run on the reactor thread

    def spider_closed(self) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.set_value(STAT, time.process_time() - self.started)
        self.crawler.stats.set_value(REACTOR_STAT, time.thread_time() - self.reactor_started)
