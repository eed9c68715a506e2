"""`ADDONS = {"polite_crawl.Addon": 0}`: installs the gate in place of Scrapy's robots.txt
middleware and validates every POLITE_CRAWL_* setting before the crawl starts."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware

from polite_crawl.middlewares import PoliteDownloaderMiddleware, PoliteSpiderMiddleware
from polite_crawl.preflight import DECODER_PRIORITY, PreflightDecoder
from polite_crawl.recorder import PRIORITY as RECORDER_PRIORITY
from polite_crawl.recorder import PoliteResponseRecorder
from polite_crawl.startup import load

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

    # typing.Self requires Python 3.11
    from typing_extensions import Self

logger = logging.getLogger(__name__)

# Where Scrapy's RobotsTxtMiddleware sits: before UserAgent (500), Retry (550), Redirect (600)
# and HttpProxy (750), so every request, redirect targets included, is judged before any of them.
DOWNLOADER_PRIORITY = 100
SPIDER_PRIORITY = 50


class Addon:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def update_settings(self, settings: BaseSettings) -> None:
        # Validate now, so that a bad setting stops the crawl before anything is built or sent.
        if load(settings, self.crawler.spider) is None:
            logger.warning("polite_crawl is disabled (POLITE_CRAWL_ENABLED = False)")
            return
        if settings.getbool("ROBOTSTXT_OBEY"):
            logger.info(
                "polite_crawl: ROBOTSTXT_OBEY is on; Scrapy's RobotsTxtMiddleware is disabled "
                "and polite_crawl enforces robots.txt instead (RFC 9309, fail-closed)."
            )
        # Exactly one component decides about robots.txt, and it is the audited one. Scrapy
        # 2.13 matches a class against DOWNLOADER_MIDDLEWARES_BASE's import paths only when
        # both are in the same dict: disabled in both, it is gone on every version.
        for name in ("DOWNLOADER_MIDDLEWARES_BASE", "DOWNLOADER_MIDDLEWARES"):
            settings.set_in_component_priority_dict(name, RobotsTxtMiddleware, None)
        settings.set_in_component_priority_dict(
            "DOWNLOADER_MIDDLEWARES", PoliteDownloaderMiddleware, DOWNLOADER_PRIORITY
        )
        settings.set_in_component_priority_dict(
            "SPIDER_MIDDLEWARES", PoliteSpiderMiddleware, SPIDER_PRIORITY
        )
        settings.set_in_component_priority_dict(
            "DOWNLOADER_MIDDLEWARES", PoliteResponseRecorder, RECORDER_PRIORITY
        )
        settings.set_in_component_priority_dict(
            "DOWNLOADER_MIDDLEWARES", PreflightDecoder, DECODER_PRIORITY
        )
