"""The Scrapy shell around the gate: a downloader middleware that decides every request before
it is sent, and a spider middleware that tells it which page a request came from.
See docs/architecture.md.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured

from polite_crawl.audit.writer import AuditWriter
from polite_crawl.core.checks.robots import RobotsCheck
from polite_crawl.core.checks.scheme import SchemeCheck
from polite_crawl.core.context import RequestContext
from polite_crawl.core.decision import Decision, Reason, Verdict
from polite_crawl.core.gate import Gate, Pending
from polite_crawl.exceptions import PolicyViolation
from polite_crawl.preflight import RobotsFetcher
from polite_crawl.robots.state import RobotsStore
from polite_crawl.settings import load, open_robots_cache
from polite_crawl.throttle import apply_crawl_delay

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

    # typing.Self requires Python 3.11
    from typing_extensions import Self

logger = logging.getLogger(__name__)

VIA_META = "polite_crawl_via"
# Meta keys that switch robots.txt off elsewhere in Scrapy. Here they change nothing: the gate
# still decides, and the attempt is logged and counted.
BYPASS_META = ("dont_obey_robotstxt", "polite_crawl_skip", "polite_crawl_bypass")


class PoliteDownloaderMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        config = load(crawler.settings, crawler.spider)
        if config is None:
            raise NotConfigured("POLITE_CRAWL_ENABLED is False")
        settings = config.settings
        self.crawler = crawler
        self.settings = settings
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats
        self.token = config.token
        self.purposes = config.purposes
        self.enforce = settings.mode == "enforce"
        self.audit = AuditWriter(settings.audit_dir, mode=settings.mode)
        self.store = RobotsStore(
            self.token,
            limit=settings.robots_parse_limit,
            ttl=settings.robots_cache_ttl,
            backoff=settings.robots_error_backoff,
            clock=time.time,
            disk=open_robots_cache(settings.robots_cache_path),
        )
        self.gate = Gate(
            [
                SchemeCheck(),
                RobotsCheck(self.store, max_crawl_delay=settings.robots_max_crawl_delay),
            ]
        )
        self.robots = RobotsFetcher(crawler, self.store, self.audit)
        self._counts: Counter[str] = Counter()
        self._warned_bypass: set[str] = set()
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def spider_opened(self) -> None:
        logger.info(
            "polite_crawl: mode=%(mode)s purposes=%(purposes)s robots.txt product token=%(token)r",
            {
                "mode": self.settings.mode,
                "token": self.token,
                "purposes": ",".join(sorted(p.value for p in self.purposes)),
            },
        )
        self.audit.run(
            "start",
            purposes=sorted(p.value for p in self.purposes),
            token=self.token,
            mode=self.settings.mode,
            user_agent=self.crawler.settings.get("USER_AGENT"),
        )

    def spider_closed(self, reason: str) -> None:
        self.audit.run("end", reason=reason, counts=dict(self._counts))
        self.audit.close()
        if self.store.disk is not None:
            self.store.disk.close()
        logger.info("polite_crawl: %(summary)s", {"summary": self.summary()})

    def summary(self) -> str:
        allowed = self._counts["allow"]
        denied = {k[5:]: v for k, v in self._counts.items() if k.startswith("deny/")}
        would = {k[7:]: v for k, v in self._counts.items() if k.startswith("report/")}
        text = f"{allowed} allowed, {sum(denied.values())} denied"
        if denied:
            text += " (" + ", ".join(f"{k}: {v}" for k, v in sorted(denied.items())) + ")"
        if would:
            text += "; REPORT-ONLY MODE, let through although denied: " + ", ".join(
                f"{k}: {v}" for k, v in sorted(would.items())
            )
        return text

    async def process_request(self, request: Request, spider: Any = None) -> None:
        if self.robots.owns(request):
            return
        self._note_bypass_attempts(request)
        ctx = RequestContext.build(
            request.url, self.purposes, method=request.method, via=request.meta.get(VIA_META)
        )
        decision = await self._decide(ctx)
        self._record(request, ctx, decision)

    async def explain(self, url: str, method: str = "GET") -> Decision:
        """The decision for url, fetching preflights as needed; nothing else is sent."""
        return await self._decide(RequestContext.build(url, self.purposes, method=method))

    async def _decide(self, ctx: RequestContext) -> Decision:
        result = self.gate.decide(ctx)
        if isinstance(result, Pending):
            await self.robots.ensure(result.origin)
            result = self.gate.decide(ctx)
        if isinstance(result, Pending):  # the preflight left nothing usable: refuse
            return Decision(
                Verdict.DENY,
                Reason.ROBOTS_UNREACHABLE,
                {"robots": {"error": "no robots.txt entry after preflight"}},
                (),
            )
        return result

    def _record(self, request: Request, ctx: RequestContext, decision: Decision) -> None:
        if decision.allowed:
            delay = decision.evidence.get("robots", {}).get("crawl_delay")
            if delay:
                delay["slot_delay"] = apply_crawl_delay(self.crawler, request, delay["applied"])
            self.audit.decision(ctx, decision, enforced=True)
            self._counts["allow"] += 1
            self.stats.inc_value("polite_crawl/allowed")
            return
        reason = decision.reason.value
        self.audit.decision(ctx, decision, enforced=self.enforce)
        if not self.enforce:
            self._counts[f"report/{reason}"] += 1
            self.stats.inc_value(f"polite_crawl/report_only/would_deny/{reason}")
            logger.warning(
                "polite_crawl REPORT-ONLY: would refuse %(url)s (%(reason)s)",
                {"url": request.url, "reason": reason},
            )
            return
        self._counts[f"deny/{reason}"] += 1
        self.stats.inc_value(f"polite_crawl/denied/{reason}")
        logger.debug(
            "polite_crawl refused %(url)s (%(reason)s)", {"url": request.url, "reason": reason}
        )
        raise PolicyViolation(request.url, decision)

    def _note_bypass_attempts(self, request: Request) -> None:
        for key in BYPASS_META:
            if request.meta.get(key):
                self.stats.inc_value(f"polite_crawl/bypass_ignored/{key}")
                if key not in self._warned_bypass:
                    self._warned_bypass.add(key)
                    logger.warning(
                        "polite_crawl: request meta %(key)r cannot bypass the gate; it is "
                        "ignored (first seen on %(url)s)",
                        {"key": key, "url": request.url},
                    )


class PoliteSpiderMiddleware:
    """Remembers which page each request was found on (the `via` of its decision record)."""

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
