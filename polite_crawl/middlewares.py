"""The Scrapy shell around the gate: a downloader middleware that decides every request before
it is sent and writes the decision to the audit log first. See docs/architecture.md.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.httpobj import urlparse_cached

from polite_crawl import exitstatus, gatekeeper, project_settings, records
from polite_crawl.audit.logfile import AuditError
from polite_crawl.audit.store import AuditStore
from polite_crawl.auditing import DurableAudit, not_sent
from polite_crawl.core.decision import Decision, Reason, Verdict
from polite_crawl.core.gate import Pending
from polite_crawl.counts import DecisionCounts
from polite_crawl.discard import judge_response
from polite_crawl.exceptions import PolicyViolation
from polite_crawl.preflight import PreflightFetcher
from polite_crawl.settings import SettingsError, setting_name
from polite_crawl.signals.memory import SignalMemory
from polite_crawl.spidermw import VIA_META, PoliteSpiderMiddleware
from polite_crawl.startup import load, stale_policies
from polite_crawl.throttle import apply_crawl_delay

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

    # typing.Self requires Python 3.11
    from typing_extensions import Self

    from polite_crawl.core.context import Origin, RequestContext
    from polite_crawl.robots.state import Entry, FetchResult

__all__ = ["PoliteDownloaderMiddleware", "PoliteSpiderMiddleware"]

logger = logging.getLogger(__name__)

# Meta keys that switch robots.txt off elsewhere in Scrapy. Here they change nothing: the gate
# still decides, and the attempt is logged and counted.
# What a request is refused with when the origin file of this preflight kind is missing.
UNREACHABLE = {
    "robots": Reason.ROBOTS_UNREACHABLE,
    "tdmrep": Reason.TDMREP_UNREACHABLE,
    "aitxt": Reason.AITXT_UNREACHABLE,
}
BYPASS_META = ("dont_obey_robotstxt", "polite_crawl_skip", "polite_crawl_bypass")


class PoliteDownloaderMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        # Again, now that the spider exists: its user_agent attribute is what Scrapy sends.
        project_token = project_settings.project_product_token(crawler.settings)
        config = load(crawler.settings, crawler.spider, project_token=project_token)
        if config is None:
            raise NotConfigured("POLITE_CRAWL_ENABLED is False")
        self.crawler = crawler
        self.config = config
        self.settings = config.settings
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats
        self.enforce = self.settings.mode == "enforce"
        self.keeper = gatekeeper.build(config)
        self.audit = DurableAudit(
            crawler, self._open_store(), durable=self.settings.audit_durability == "fsync"
        )
        self.robots = PreflightFetcher(
            crawler,
            self.keeper.files,
            self._preflight_done,
            user_agent=config.user_agent,
            hop_refusal=self.keeper.hop_refusal,
        )
        self.counts = DecisionCounts()
        self.memory = SignalMemory()  # what pages said about the URLs they link
        self._warned_bypass: set[str] = set()
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        try:
            return cls(crawler)
        except SettingsError:
            exitstatus.refused_to_start(crawler)  # e.g. the audit directory is in use
            raise

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
        # What every log this run touches starts with: who crawled, for what, under which rules.
        self.audit.store.run_start = {
            "purposes": purposes,
            "token": config.token,
            "mode": self.settings.mode,
            "user_agent": config.user_agent,
            "contact": self.settings.contact,
            "policies": {p.id: p.sha256 for p in config.policies.values()},
            "consents_sha256": config.consents_sha256,
            "key": self.audit.store.fingerprint,
        }

    async def spider_closed(self, reason: str) -> None:
        for kind, store in self.keeper.files.items():  # a bounded cache says what it forgot
            if store.evictions:
                self.stats.set_value(f"polite_crawl/origin_cache/evicted/{kind}", store.evictions)
        await self.audit.close({"reason": reason, "counts": self.counts.as_dict()})
        if self.keeper.store.disk is not None:
            self.keeper.store.disk.close()
        logger.info("polite_crawl: %(summary)s", {"summary": self.counts.summary()})

    def _open_store(self) -> AuditStore:
        settings = self.settings
        try:
            store = AuditStore(
                settings.audit_dir,
                contact=settings.contact,
                checkpoint_every=settings.audit_checkpoint_every,
                checkpoint_seconds=settings.audit_checkpoint_seconds,
                redact_params=frozenset(settings.audit_redact_params),
                buffered=True,  # one write() per reactor turn: see DurableAudit
            )
        except (AuditError, ValueError) as exc:
            message = f"{setting_name('audit_dir')} = {str(settings.audit_dir)!r}: {exc}"
            logger.error("polite_crawl: the crawl cannot start: %(error)s", {"error": message})
            raise SettingsError(message) from None
        logger.info(
            "polite_crawl: audit log in %(dir)s, signing key sha256:%(fp)s",
            {"dir": settings.audit_dir, "fp": store.fingerprint},
        )
        return store

    def _preflight_done(
        self, kind: str, origin: Origin, result: FetchResult, entry: Entry[Any]
    ) -> None:
        # The file's bytes are kept by sha256, and the fetch is logged where the origin's
        # decisions are: an export for a platform carries the robots.txt its decisions cite.
        if result.body:
            self.audit.keep_evidence(result.body, entry.sha256)
        platform = self.keeper.resolver.resolve(origin.host)
        self.audit.write_soon(
            platform.id if platform else None, records.preflight(kind, result, entry)
        )

    def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Response:
        """The second line: what only the response reveals (its own X-Robots-Tag,
        tdm-reservation and Content-Usage headers, opt-outs embedded in an image) can still keep
        it from the spider and the pipelines. It was fetched; it is discarded unread."""
        if self.robots.owns(request):
            return response
        decision = judge_response(
            response, self.memory.lookup(request.url), self.config.token, self.config.purposes
        )
        if decision is None:
            return response
        ctx = self.keeper.context(request.url, request.method)
        reason = decision.reason.value
        with contextlib.suppress(AuditError):  # a failure has closed the crawl already
            self.audit.write_soon(
                ctx.platform.id if ctx.platform else None,
                records.decision(
                    ctx, decision, mode=self.settings.mode, enforced=self.enforce, via=None
                ),
            )
        if not self.enforce:
            self.stats.inc_value(f"polite_crawl/report_only/would_discard/{reason}")
            return response
        self.counts.add(f"discard/{reason}")
        self.stats.inc_value(f"polite_crawl/discarded/{reason}")
        raise PolicyViolation(request.url, decision)

    def platform_of(self, url: str) -> str | None:
        """The policy id whose log records about url go to (None: the _sites log)."""
        loaded = self.keeper.resolver.resolve((urlsplit(url).hostname or "").lower())
        return loaded.id if loaded else None

    def record_response(self, request: Request, response: Response) -> None:
        if self.robots.owns(request):
            return  # logged as its preflight
        platform = self.keeper.resolver.resolve(urlparse_cached(request).hostname or "")
        # A failure here has already closed the crawl; nothing more is sent.
        with contextlib.suppress(AuditError):
            self.audit.write_soon(
                platform.id if platform else None, records.fetched(request.url, response)
            )

    def process_request(self, request: Request, spider: Any = None) -> Awaitable[None] | None:
        """Decide, write the decision, and hold an allowed request until its record is durable.
        Plain (not async): the usual request needs no coroutine of its own, only the wait for
        its batch; one whose origin files are still to be fetched continues in _decide_later."""
        if self.robots.owns(request):
            return None
        self._note_bypass_attempts(request)
        ctx = self.keeper.context(
            request.url,
            request.method,
            via=request.meta.get(VIA_META),
            user_agent=self._user_agent(request),
            host_header=_header(request, b"Host"),
            inherited=self.memory.lookup(request.url),
        )
        refetch = self.robots.refetch_in_flight(ctx.origin, request.url)
        if refetch is not None:
            # Another component re-issued one of our preflight requests: waiting for our own
            # preflight would wait forever. Refuse it instead.
            decision = Decision(
                Verdict.DENY,
                UNREACHABLE[refetch],
                {refetch: {"error": f"{request.url} re-requested during its preflight"}},
                (),
            )
        else:
            result = self.keeper.decide(ctx)
            if isinstance(result, Pending):
                return self._decide_later(request, ctx)
            decision = result
        return self._record(request, ctx, decision)

    async def _decide_later(self, request: Request, ctx: RequestContext) -> None:
        waiting = self._record(request, ctx, await self._decide(ctx))
        if waiting is not None:
            await waiting

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
        # Each file is fetched once it is the next thing the decision needs: a URL robots.txt
        # refuses never costs a tdmrep.json. Each kind is asked for at most once here.
        asked: set[str] = set()
        while isinstance(result, Pending) and not asked.issuperset(result.kinds):
            asked.update(result.kinds)
            await self.robots.ensure(result.origin, result.kinds)
            result = self.keeper.decide(ctx)
        if isinstance(result, Pending):  # the preflight left nothing usable: refuse
            kind = result.kinds[0]
            return Decision(
                Verdict.DENY,
                UNREACHABLE[kind],
                {kind: {"error": f"no {self.keeper.files[kind].path} entry after preflight"}},
                (),
            )
        return result

    def _record(
        self, request: Request, ctx: RequestContext, decision: Decision
    ) -> Awaitable[None] | None:
        """Write the decision; an allowed request (or one only reported) gets what to wait on
        before it is sent. A refused one raises here: nothing is sent, nothing waits."""
        enforced = decision.allowed or self.enforce
        if decision.allowed:
            self._pace(request, decision)
        via = ctx.via if ctx.via and self._same_platform(ctx, ctx.via) else None
        record = records.decision(
            ctx, decision, mode=self.settings.mode, enforced=enforced, via=via
        )
        platform = ctx.platform.id if ctx.platform else None
        waiting: Awaitable[None] | None = None
        try:
            if enforced and not decision.allowed:
                self.audit.write_soon(platform, record)  # nothing is sent: no need to wait
            else:
                waiting = self.audit.write(platform, record)  # write-ahead: durable, then sent
        except AuditError as exc:
            raise not_sent(exc) from None
        if decision.allowed:
            # Counted as decided; if the log fails before the record is durable, the request
            # is not sent (the wait raises IgnoreRequest) and the crawl closes.
            self.counts.add("allow")
            self.stats.inc_value("polite_crawl/allowed")
            return waiting
        reason = decision.reason.value
        if not self.enforce:
            self.counts.add(f"report/{reason}")
            self.stats.inc_value(f"polite_crawl/report_only/would_deny/{reason}")
            logger.warning(
                "polite_crawl REPORT-ONLY: would refuse %(url)s (%(reason)s)",
                {"url": request.url, "reason": reason},
            )
            return waiting
        self.counts.add(f"deny/{reason}")
        self.stats.inc_value(f"polite_crawl/denied/{reason}")
        logger.debug(
            "polite_crawl refused %(url)s (%(reason)s)", {"url": request.url, "reason": reason}
        )
        raise PolicyViolation(request.url, decision)

    def _same_platform(self, ctx: RequestContext, url: str) -> bool:
        # A platform's log names no other site: `via` is kept only within the platform.
        end = ctx.url.find("/", ctx.url.find("//") + 2)
        if end > 0 and url.startswith(ctx.url[: end + 1]):
            return True  # the same scheme://host:port/ as the request: a page linking its own
        host = (urlsplit(url).hostname or "").lower()
        return host == ctx.origin.host or self.keeper.resolver.resolve(host) is ctx.platform

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
