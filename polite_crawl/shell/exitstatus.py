"""A crawl that polite_crawl refused to start, or closed for an audit failure, ends as a failed
crawl: `scrapy crawl` and `scrapy runspider` exit with status 1, and a CrawlerProcess or
CrawlerRunner says so in its `bootstrap_failed` attribute.

Scrapy has no public way for a component to set a crawl's exit status (scrapy/scrapy#1241).
What every supported version does (2.13 to 2.19, CrawlerRunner, AsyncCrawlerRunner and both
CrawlerProcess classes alike): when a crawl ends and its crawler has no spider, the crawl counts
as failed, and the commands exit with 1. So the crawler's spider is dropped at the very end,
once nothing of Scrapy needs it any more: at `engine_stopped`, the last signal of a crawl, or
at once when the crawl never started. (Scrapy 2.13 otherwise exits 0 from `runspider` even when
the crawl was refused at start.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy import signals

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


def refused_to_start(crawler: Crawler) -> None:
    """The crawl stops before its engine runs: it is a failed one."""
    crawler.spider = None


def failed_at_the_end(crawler: Crawler) -> None:
    """The crawl runs on to its close, then counts as failed."""

    def drop_the_spider() -> None:
        crawler.spider = None

    # weak=False: the closure would otherwise be collected before the signal comes.
    crawler.signals.connect(drop_the_spider, signal=signals.engine_stopped, weak=False)
