"""An extension that writes the crawl's stats as JSON at close (MOCKWEB_STATS_FILE), so that a
test can read them after the crawl process has ended, whatever spider it ran; with them the
process's peak resident memory (`peak_rss`, bytes)."""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    # typing.Self requires Python 3.11
    from typing_extensions import Self


class StatsFile:
    def __init__(self, crawler: Crawler) -> None:
        path = crawler.settings.get("MOCKWEB_STATS_FILE")
        if not path:
            raise NotConfigured
        self.path = Path(path)
        self.crawler = crawler
        # Connected late, after spider_closed handlers of the gate have counted everything.
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        self.reason: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def spider_closed(self, reason: str) -> None:
        self.reason = reason

    def engine_stopped(self) -> None:
        assert self.crawler.stats is not None
        stats = {
            k: v
            for k, v in self.crawler.stats.get_stats().items()
            if isinstance(v, (int, float, str))
        }
        # The process's peak resident set so far: what the crawl cost in memory at its worst.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak *= 1 if sys.platform == "darwin" else 1024  # bytes there, KiB on Linux
        self.path.write_text(json.dumps({"reason": self.reason, "stats": stats, "peak_rss": peak}))
