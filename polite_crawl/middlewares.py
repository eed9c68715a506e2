"""The Scrapy shell around the gate: a downloader middleware that decides every request before
it is sent, and a spider middleware that tells it which page a request came from.
See docs/architecture.md.
"""

from __future__ import annotations

import datetime
import logging
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.httpobj import urlparse_cached

from polite_crawl import gatekeeper
from polite_crawl.audit.writer import AuditWriter
from polite_crawl.core.decision import Decision, Reason, Verdict
from polite_crawl.core.gate import Pending
from polite_crawl.counts import DecisionCounts
from polite_crawl.exceptions import PolicyViolation
from polite_crawl.preflight import RobotsFetcher
from polite_crawl.settings import load, stale_policies
from polite_crawl.throttle import apply_crawl_delay

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

    # typing.Self requires Python 3.11
    from typing_extensions import Self

    from polite_crawl.core.context import RequestContext

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
        self.crawler = crawler
        self.config = config
        self.settings = config.settings
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats
        self.enforce = self.settings.mode == "enforce"
        self.keeper = gatekeeper.build(config)
        self.audit = AuditWriter(self.settings.audit_dir, mode=self.settings.mode)
        self.robots = RobotsFetcher(
            crawler,
            self.keeper.store,
            self.audit,
            user_agent=config.user_agent,
            hop_refusal=self.keeper.hop_refusal,
        )
        self.counts = DecisionCounts()
        self._warned_bypass: set[str] = set()
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def spider_opened(self) -> None:
        config = self.config
        source = (
            "POLITE_CRAWL_USER_AGENT_TOKEN"
            if self.settings.user_agent_token
            else "derived from USER_AGENT"
        )
        purposes = sorted(p.value for p in config.purposes)
        logger.info(
            "polite_crawl: mode=%(mode)s purposes=%(purposes)s robots.txt product token=%(token)r "
            "(%(source)s), %(policies)d platform policies, %(grants)d consent grants",
            {
                "mode": self.settings.mode,
                "token": config.token,
                "source": source,
                "purposes": ",".join(purposes),
                "policies": len(config.policies),
                "grants": len(config.grants),
            },
        )
        today = datetime.datetime.now(datetime.timezone.utc).date()
        for stale in stale_policies(config, today):
            logger.warning(
                "polite_crawl: policy %(policy)s is older than POLITE_CRAWL_POLICY_MAX_AGE_DAYS "
                "= %(days)d; platform terms change, review it",
                {"policy": stale, "days": self.settings.policy_max_age_days},
            )
        self.audit.run(
            "start",
            purposes=purposes,
            token=config.token,
            mode=self.settings.mode,
            user_agent=config.user_agent,
            contact=self.settings.contact,
            policies={p.id: p.sha256 for p in config.policies.values()},
            consents_sha256=config.consents_sha256,
        )

    def spider_closed(self, reason: str) -> None:
        self.audit.run("end", reason=reason, counts=self.counts.as_dict())
        self.audit.close()
        if self.keeper.store.disk is not None:
            self.keeper.store.disk.close()
        logger.info("polite_crawl: %(summary)s", {"summary": self.counts.summary()})

    async def process_request(self, request: Request, spider: Any = None) -> None:
        if self.robots.owns(request):
            return
        self._note_bypass_attempts(request)
        ctx = self.keeper.context(
            request.url,
            request.method,
            via=request.meta.get(VIA_META),
            user_agent=self._user_agent(request),
            host_header=_header(request, b"Host"),
        )
        if self.robots.refetch_in_flight(ctx.origin, request.url):
            # Another component re-issued our robots.txt request: waiting for our own
            # preflight would wait forever. Refuse it instead.
            decision = Decision(
                Verdict.DENY,
                Reason.ROBOTS_UNREACHABLE,
                {"robots": {"error": "robots.txt re-requested during its preflight"}},
                (),
            )
        else:
            decision = await self._decide(ctx)
        self._record(request, ctx, decision)

    def _user_agent(self, request: Request) -> str:
        # The gate pins the User-Agent it validated, before DefaultHeaders and UserAgent
        # (which only fill an empty header) could send another; a spider's own header is
        # judged as sent.
        sent = _header(request, b"User-Agent")
        if sent is None:
            request.headers[b"User-Agent"] = self.config.user_agent
            return self.config.user_agent
        return sent

    async def explain(self, url: str, method: str = "GET") -> Decision:
        """The decision for url, fetching preflights as needed; nothing else is sent."""
        return await self._decide(self.keeper.context(url, method))

    async def _decide(self, ctx: RequestContext) -> Decision:
        result = self.keeper.decide(ctx)
        if isinstance(result, Pending):
            await self.robots.ensure(result.origin)
            result = self.keeper.decide(ctx)
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
            self._pace(request, decision)
            self.audit.decision(ctx, decision, enforced=True)
            self.counts.add("allow")
            self.stats.inc_value("polite_crawl/allowed")
            return
        reason = decision.reason.value
        self.audit.decision(ctx, decision, enforced=self.enforce)
        if not self.enforce:
            self.counts.add(f"report/{reason}")
            self.stats.inc_value(f"polite_crawl/report_only/would_deny/{reason}")
            logger.warning(
                "polite_crawl REPORT-ONLY: would refuse %(url)s (%(reason)s)",
                {"url": request.url, "reason": reason},
            )
            return
        self.counts.add(f"deny/{reason}")
        self.stats.inc_value(f"polite_crawl/denied/{reason}")
        logger.debug(
            "polite_crawl refused %(url)s (%(reason)s)", {"url": request.url, "reason": reason}
        )
        raise PolicyViolation(request.url, decision)

    def _pace(self, request: Request, decision: Decision) -> None:
        # The slower of robots.txt's Crawl-delay and a platform policy's minimum delay.
        crawl_delay = decision.evidence.get("robots", {}).get("crawl_delay")
        min_delay = decision.evidence.get("requirements", {}).get("min_delay", 0.0)
        wanted = max(crawl_delay["applied"] if crawl_delay else 0.0, min_delay)
        if wanted:
            # A paced request waits in its host's slot: a spider-chosen download_slot per
            # request would otherwise sidestep the delay.
            request.meta["download_slot"] = urlparse_cached(request).hostname or ""
            slot_delay = apply_crawl_delay(self.crawler, request, wanted)
            (crawl_delay or decision.evidence["requirements"])["slot_delay"] = slot_delay

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


def _header(request: Request, name: bytes) -> str | None:
    value = request.headers.get(name)
    return value.decode("latin-1") if value is not None else None


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
