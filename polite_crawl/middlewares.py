"""The documented class paths of polite_crawl's Scrapy components, for projects that list them
in DOWNLOADER_MIDDLEWARES / SPIDER_MIDDLEWARES by hand. The components live in
polite_crawl/shell/ (one module per step of a request); the add-on installs them for you."""

from __future__ import annotations

from polite_crawl.shell.decide import PoliteDownloaderMiddleware
from polite_crawl.shell.links import PoliteSpiderMiddleware

__all__ = ["PoliteDownloaderMiddleware", "PoliteSpiderMiddleware"]
