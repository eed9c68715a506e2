"""The Scrapy shell around the gate: a downloader middleware that decides every request before
it is sent and writes the decision to the audit log first. See docs/architecture.md.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import weakref
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.misc import load_object

from polite_crawl import exitstatus, project_settings, records
from polite_crawl.audit.logfile import AuditError
from polite_crawl.audit.redact import redact_url
from polite_crawl.audit.store import AuditStore
from polite_crawl.auditing import DurableAudit, not_sent
from polite_crawl.core import assembly
from polite_crawl.core.config import load, stale_policies
from polite_crawl.core.decision import ENFORCED_IN_EVERY_MODE, Decision, Reason, Verdict
from polite_crawl.core.gate import Pending
from polite_crawl.core.wire import Sent, Ticket, difference
from polite_crawl.counts import DecisionCounts
from polite_crawl.discard import judge_response
from polite_crawl.exceptions import PolicyViolation
from polite_crawl.pacing import WirePacer, paced_host
from polite_crawl.preflight import PreflightFetcher
from polite_crawl.settings import SettingsError, setting_name
from polite_crawl.signals.memory import SignalMemory
from polite_crawl.spidermw import VIA_META, PoliteSpiderMiddleware
from polite_crawl.throttle import apply_crawl_delay
from polite_crawl.wirehandler import WireHandler

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

    # typing.Self requires Python 3.11
    from typing_extensions import Self

    from polite_crawl.core.context import Origin, RequestContext
    from polite_crawl.origin.store import Entry, FetchResult

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
        _check_download_handlers(crawler)  # before anything is opened or started
        self.crawler = crawler
        self.config = config
        self.settings = config.settings
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats
        self.enforce = self.settings.mode == "enforce"
        self.decider = assembly.build(config)
        self.audit = DurableAudit(
            crawler, self._open_store(), durable=self.settings.audit_durability == "fsync"
        )
        self.robots = PreflightFetcher(
            crawler,
            self.decider.files,
            self._preflight_done,
            user_agent=config.user_agent,
            hop_refusal=self.decider.hop_refusal,
        )
        self.counts = DecisionCounts()
        self.memory = SignalMemory()  # what pages said about the URLs they link
        self._warned_bypass: set[str] = set()
        # What was decided about each request let through, until it reaches the wire (by
        # object identity, like the preflight exemption: nothing spider code can forge).
        self.tickets: weakref.WeakKeyDictionary[Request, Ticket] = weakref.WeakKeyDictionary()
        self.pacer = WirePacer()
        self._warned_wire: set[str] = set()
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
        for kind, store in self.decider.files.items():  # a bounded cache says what it forgot
            if store.evictions:
                self.stats.set_value(f"polite_crawl/origin_cache/evicted/{kind}", store.evictions)
        await self.audit.close({"reason": reason, "counts": self.counts.as_dict()})
        if self.decider.store.disk is not None:
            self.decider.store.disk.close()
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
        platform = self.decider.resolver.resolve(origin.host)
        self.audit.write_soon(
            platform.id if platform else None, records.preflight(kind, result, entry)
        )
        # The host's pace is known from now on (its robots.txt Crawl-delay, its policy's
        # min_delay): the next origin file (tdmrep.json, ai.txt) waits for it like a page.
        # Read from the robots.txt in force after every origin file: it may have come from the
        # persisted cache, with no preflight of its own to teach the pacer.
        delays = [platform.policy.rule_for(p).min_delay for p in self.config.purposes if platform]
        robots = entry if kind == "robots" else self.decider.store.get(origin)
        governing = robots.in_force() if robots is not None else None
        rules = governing.rules if governing is not None else None
        if rules is not None and rules.crawl_delay is not None:
            delays.append(min(rules.crawl_delay, self.settings.robots_max_crawl_delay))
        self.pacer.learn(origin.host.rstrip("."), max(delays, default=0.0))

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
        ctx = self.decider.context(request.url, request.method)
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
        loaded = self.decider.resolver.resolve((urlsplit(url).hostname or "").lower())
        return loaded.id if loaded else None

    def record_response(self, request: Request, response: Response) -> None:
        if self.robots.owns(request):
            return  # logged as its preflight
        # A failure here has already closed the crawl; nothing more is sent.
        with contextlib.suppress(AuditError):
            self.audit.write_soon(
                self.platform_of(request.url), records.fetched(request.url, response)
            )

    def process_request(self, request: Request, spider: Any = None) -> Awaitable[None] | None:
        """Decide, write the decision, and hold an allowed request until its record is durable.
        Plain (not async): the usual request needs no coroutine of its own, only the wait for
        its batch; one whose origin files are still to be fetched continues in _decide_later."""
        if self.robots.owns(request):
            return None
        self._note_bypass_attempts(request)
        ctx = self.decider.context(
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
            result = self.decider.decide(ctx)
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
        return await self._decide(self.decider.context(url, method))

    async def _decide(self, ctx: RequestContext) -> Decision:
        result = self.decider.decide(ctx)
        # Each file is fetched once it is the next thing the decision needs: a URL robots.txt
        # refuses never costs a tdmrep.json. Each kind is asked for at most once here.
        asked: set[str] = set()
        while isinstance(result, Pending) and not asked.issuperset(result.kinds):
            asked.update(result.kinds)
            await self.robots.ensure(result.origin, result.kinds)
            result = self.decider.decide(ctx)
        if isinstance(result, Pending):  # the preflight left nothing usable: refuse
            kind = result.kinds[0]
            return Decision(
                Verdict.DENY,
                UNREACHABLE[kind],
                {kind: {"error": f"no {self.decider.files[kind].path} entry after preflight"}},
                (),
            )
        return result

    def _record(
        self, request: Request, ctx: RequestContext, decision: Decision
    ) -> Awaitable[None] | None:
        """Write the decision; an allowed request (or one only reported) gets what to wait on
        before it is sent. A refused one raises here: nothing is sent, nothing waits."""
        enforced = decision.allowed or self.enforce or decision.reason in ENFORCED_IN_EVERY_MODE
        # A request let through is paced, also one report-only mode merely reports: the
        # Crawl-delay of a URL robots.txt refuses is the site's all the same.
        delay = self._pace(request, decision) if decision.allowed or not enforced else 0.0
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
        if not enforced or decision.allowed:  # it goes on: the wire check compares with this
            # What was judged (ctx), not the request as it is now: a decision that waited for
            # robots.txt was made on the request as it reached the gate, and whatever changed
            # it since (the spider keeps its requests) must be refused at the wire.
            self.tickets[request] = Ticket(
                ctx.url, ctx.method, ctx.host_header, ctx.user_agent, delay, platform
            )
        if decision.allowed:
            # Counted as decided; if the log fails before the record is durable, the request
            # is not sent (the wait raises IgnoreRequest) and the crawl closes.
            self.counts.add("allow")
            self.stats.inc_value("polite_crawl/allowed")
            return waiting
        reason = decision.reason.value
        if not enforced:
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
        return host == ctx.origin.host or self.decider.resolver.resolve(host) is ctx.platform

    def _pace(self, request: Request, decision: Decision) -> float:
        """The slower of robots.txt's Crawl-delay and a platform policy's minimum delay. The
        wire pacer (pacing.py) guarantees it; the downloader slot is slowed too, so that paced
        requests wait in its queue rather than in the handler."""
        crawl_delay = decision.evidence.get("robots", {}).get("crawl_delay")
        min_delay = decision.evidence.get("requirements", {}).get("min_delay", 0.0)
        wanted: float = max(crawl_delay["applied"] if crawl_delay else 0.0, min_delay)
        if wanted:
            # A paced request waits in its host's slot: a spider-chosen download_slot per
            # request would otherwise sidestep the delay. The host is read from the URL decided
            # (urlparse_cached may still hold the parse of a URL rewritten before the gate).
            request.meta["download_slot"] = paced_host(request.url)
            slot_delay = apply_crawl_delay(self.crawler, request, wanted)
            (crawl_delay or decision.evidence["requirements"])["slot_delay"] = slot_delay
        return wanted

    def on_wire(self, request: Request) -> Ticket | None:
        """Called by the download handler (wirehandler.py) with the request about to be sent:
        its ticket when it is what was decided; a difference is refused here (PolicyViolation)
        and recorded, or in report-only mode recorded and let through."""
        ticket = self.tickets.pop(request, None) or self.robots.ticket(request)
        sent = Sent(
            request.url,
            request.method,
            _header(request, b"Host"),
            _header(request, b"User-Agent"),
        )
        found = difference(ticket, sent)
        if found is None:
            return ticket
        reason, evidence = found
        params = self.audit.store.redact_params
        for side in evidence.values():
            if isinstance(side, dict) and isinstance(side.get("url"), str):
                side["url"] = redact_url(side["url"], params)  # credentials never in the log
        ctx = self.decider.context(
            sent.url, sent.method, user_agent=sent.user_agent, host_header=sent.host_header
        )
        decision = Decision(Verdict.DENY, reason, {"wire": evidence}, ())
        record = records.decision(
            ctx, decision, mode=self.settings.mode, enforced=self.enforce, via=None
        )
        # In the log of the platform the request would have reached, and in the one its
        # allow went to if that is another.
        platforms = {ctx.platform.id if ctx.platform else None}
        if ticket is not None:
            platforms.add(ticket.platform)
        try:
            for platform in sorted(platforms, key=lambda p: p or ""):
                self.audit.write_soon(platform, record)
        except AuditError as exc:
            raise not_sent(exc) from None
        code = reason.value
        if code not in self._warned_wire:
            self._warned_wire.add(code)
            logger.warning(
                "polite_crawl: %(url)s changed after the gate decided it (%(reason)s: %(what)s); "
                "a downloader middleware after polite_crawl's changes what is sent",
                {"url": request.url, "reason": code, "what": evidence},
            )
        if not self.enforce:
            self.counts.add(f"report/{code}")
            self.stats.inc_value(f"polite_crawl/report_only/would_deny/{code}")
            return ticket
        self.counts.add(f"deny/{code}")
        self.stats.inc_value(f"polite_crawl/denied/{code}")
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


def _check_download_handlers(crawler: Crawler) -> None:
    """Every scheme's handler must be the wire check the add-on put there: a component that
    replaced one after the add-on would send requests nobody compared with their decision."""
    handlers = crawler.settings.getwithbase("DOWNLOAD_HANDLERS")
    for scheme in list(handlers):
        path = handlers[scheme]
        if path is not None and load_object(path) is not WireHandler:
            message = (
                f"DOWNLOAD_HANDLERS[{scheme!r}] = {path!r} was set after the polite_crawl "
                "add-on installed its wire check; list that handler in DOWNLOAD_HANDLERS (the "
                "add-on wraps it) instead of replacing polite_crawl's"
            )
            logger.error("polite_crawl: the crawl cannot start: %(error)s", {"error": message})
            raise SettingsError(message)


def _header(request: Request, name: bytes) -> str | None:
    """The header as it goes on the wire. Headers.get() reads only the last of several values,
    while every one is sent: several are joined by a line break, which no single value on the
    wire can hold, so they never equal one decided value (and the identity check refuses them)."""
    values = request.headers.getlist(name)
    if not values:
        return None
    return "\n".join(v.decode("latin-1") for v in values)
