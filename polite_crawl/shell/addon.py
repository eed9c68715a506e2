"""`ADDONS = {"polite_crawl.Addon": 0}`: installs the gate in place of Scrapy's robots.txt
middleware and validates every POLITE_CRAWL_* setting before the crawl starts."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.misc import load_object

from polite_crawl.core.config import load
from polite_crawl.settings import SettingsError
from polite_crawl.shell import (
    browser_setup,
    exitstatus,
    fetched,
    parking,
    project_settings,
    quiet,
)
from polite_crawl.shell.crawl import keep_config
from polite_crawl.shell.decide import DecisionMiddleware
from polite_crawl.shell.dnsguard import DnsGuard
from polite_crawl.shell.links import LinksMiddleware
from polite_crawl.shell.wire import ORIGINAL_SETTING, WireHandler

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

    @classmethod
    def update_pre_crawler_settings(cls, settings: BaseSettings) -> None:
        # Before any spider's custom_settings are merged: what the project turned on.
        project_settings.remember(settings)

    def update_settings(self, settings: BaseSettings) -> None:
        # Validate now, so that a bad setting stops the crawl before anything is built or sent.
        try:
            config = load(
                settings,
                self.crawler.spider,
                changed_by_spider=project_settings.changed_by_the_spider(settings, Addon),
                project_token=project_settings.project_product_token(settings),
            )
        except SettingsError:
            exitstatus.refused_to_start(self.crawler)
            quiet.install(settings)  # said in one ERROR line each: no traceback after it
            raise
        if config is None:
            logger.warning("polite_crawl is disabled (POLITE_CRAWL_ENABLED = False)")
            return
        keep_config(self.crawler, config, settings)  # the crawl starts from it: read once
        if settings.getbool("ROBOTSTXT_OBEY"):
            logger.info(
                "polite_crawl: ROBOTSTXT_OBEY is on; Scrapy's RobotsTxtMiddleware is disabled "
                "and polite_crawl enforces robots.txt instead (RFC 9309, fail-closed)."
            )
        else:  # said, so that turning it off is not believed to have turned robots.txt off
            logger.info(
                "polite_crawl: ROBOTSTXT_OBEY is False, and robots.txt is enforced all the same "
                "(RFC 9309, fail-closed): the setting governs Scrapy's own middleware only."
            )
        # Exactly one component decides about robots.txt, and it is the audited one. Scrapy
        # 2.13 matches a class against DOWNLOADER_MIDDLEWARES_BASE's import paths only when
        # both are in the same dict: disabled in both, it is gone on every version.
        for name in ("DOWNLOADER_MIDDLEWARES_BASE", "DOWNLOADER_MIDDLEWARES"):
            settings.set_in_component_priority_dict(name, RobotsTxtMiddleware, None)
        install(settings, "DOWNLOADER_MIDDLEWARES", DecisionMiddleware, DOWNLOADER_PRIORITY)
        install(settings, "SPIDER_MIDDLEWARES", LinksMiddleware, SPIDER_PRIORITY)
        install(settings, "DOWNLOADER_MIDDLEWARES", fetched.FetchedRecorder, fetched.PRIORITY)
        # Names whose DNS answer is internal, when Scrapy resolves names itself (dnsguard.py).
        install(settings, "EXTENSIONS", DnsGuard, 0)
        try:
            wrap_download_handlers(settings)  # a browser it cannot gate stops the crawl here
        except SettingsError:
            exitstatus.refused_to_start(self.crawler)
            quiet.install(settings)  # said in one ERROR line: no traceback after it
            raise
        if config.settings.redis_url is not None:
            # Fleet pacing: requests whose host's turn is far off go back to the scheduler.
            # Only in a fleet: nothing else parks, and its request_scheduled handler would
            # cost every request of a single-process crawl a signal dispatch (#21).
            install(
                settings, "DOWNLOADER_MIDDLEWARES", parking.ParkingMiddleware, parking.PRIORITY
            )


# The documented paths of the two public middlewares (polite_crawl/middlewares.py).
_PUBLIC_PATHS: dict[type, str] = {
    DecisionMiddleware: "polite_crawl.middlewares.PoliteDownloaderMiddleware",
    LinksMiddleware: "polite_crawl.middlewares.PoliteSpiderMiddleware",
}


def install(settings: BaseSettings, name: str, cls: type, priority: int) -> None:
    """Put cls in a component priority dict under its dotted path, as the user's own entries
    are: Scrapy's "Enabled ... middlewares" log line then shows a path, not a class object. An
    entry of the same class under any path (one listed by hand) is replaced, not doubled."""
    components = settings.getdict(name)
    for key in tuple(components):
        if (load_object(key) if isinstance(key, str) else key) is cls:
            del components[key]
    components[_PUBLIC_PATHS.get(cls, f"{cls.__module__}.{cls.__qualname__}")] = priority
    settings.set(name, components, settings.getpriority(name) or 0)


def wrap_download_handlers(settings: BaseSettings) -> None:
    """Put the wire check in front of the download handler of every scheme (shell/wire.py),
    remembering the handler it replaces: whatever the downloader middlewares after the gate do,
    the request that reaches a handler is compared with what was decided."""
    merged = dict(settings.getwithbase("DOWNLOAD_HANDLERS"))
    originals = {
        scheme: browser_setup.gated(path, settings)
        for scheme, path in merged.items()
        if path is not None and path is not WireHandler
    }
    # At the priority the user's own DOWNLOAD_HANDLERS has (a lower one would be ignored).
    priority = max(settings.getpriority("DOWNLOAD_HANDLERS") or 0, SETTINGS_PRIORITIES["addon"])
    wrapped = dict(settings.getdict("DOWNLOAD_HANDLERS"))
    wrapped.update(dict.fromkeys(originals, WireHandler))
    settings.set("DOWNLOAD_HANDLERS", wrapped, priority=priority)
    settings.set(ORIGINAL_SETTING, originals, priority=priority)
