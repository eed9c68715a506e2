"""Step 2 of a request: the downloader middleware that decides it before it is sent, at
priority 100 (where Scrapy's RobotsTxtMiddleware sat), and writes the decision to the audit log
first. An allowed request waits until its record is durable; a refused one raises
PolicyViolation and is never sent. The origin files a decision needs are fetched first
(preflight.py); what the request must still be at the wire is left as its ticket (wire.py).

On the way back, a response that its own signals forbid is discarded (discard.py).
"""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.exceptions import NotConfigured

from polite_crawl.audit.logfile import AuditError
from polite_crawl.botauth.errors import BotAuthError
from polite_crawl.core.decision import ENFORCED_IN_EVERY_MODE, Decision, Reason, Verdict
from polite_crawl.core.gate import Pending
from polite_crawl.core.wire import Ticket
from polite_crawl.exceptions import PolicyViolation
from polite_crawl.fleet.errors import FleetError
from polite_crawl.settings import SettingsError
from polite_crawl.shell import discard, exitstatus, quiet, records, signing
from polite_crawl.shell.crawl import CrawlState
from polite_crawl.shell.fleet_wire import park_early, unavailable
from polite_crawl.shell.journal import not_sent
from polite_crawl.shell.links import VIA_META, inherited_for
from polite_crawl.shell.pacing import paced_host
from polite_crawl.shell.throttle import apply_crawl_delay
from polite_crawl.shell.wire import check_download_handlers
from polite_crawl.shell.wire_check import header

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    # typing.Self requires Python 3.11
    from typing_extensions import Self

    from polite_crawl.core.context import RequestContext
    from polite_crawl.signals.memory import Inherited

logger = logging.getLogger(__name__)

# What a request is refused with when the origin file of this preflight kind is missing.
UNREACHABLE = {
    "robots": Reason.ROBOTS_UNREACHABLE,
    "tdmrep": Reason.TDMREP_UNREACHABLE,
    "aitxt": Reason.AITXT_UNREACHABLE,
}
# Meta keys that switch robots.txt off elsewhere in Scrapy. Here they change nothing: the gate
# still decides, and the attempt is logged and counted.
BYPASS_META = ("dont_obey_robotstxt", "polite_crawl_skip", "polite_crawl_bypass")
# The crawl's decision middleware, for the browser gate (browser.py): the browser's requests are
# decided and recorded by the same methods as Scrapy's.
_MIDDLEWARES: weakref.WeakKeyDictionary[Crawler, DecisionMiddleware] = weakref.WeakKeyDictionary()


def middleware_of(crawler: Crawler) -> DecisionMiddleware | None:
    return _MIDDLEWARES.get(crawler)


class DecisionMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("POLITE_CRAWL_ENABLED", True):
            raise NotConfigured("POLITE_CRAWL_ENABLED is False")
        check_download_handlers(crawler)  # before anything is opened or started
        state = CrawlState.start(crawler)
        if state is None:
            raise NotConfigured("POLITE_CRAWL_ENABLED is False")
        self.state = state
        self._warned_bypass: set[str] = set()
        _MIDDLEWARES[crawler] = self

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        try:
            return cls(crawler)
        except SettingsError:
            exitstatus.refused_to_start(crawler)  # e.g. the audit directory is in use
            quiet.install(crawler.settings)  # said in one ERROR line: no traceback after it
            raise

    def process_request(self, request: Request, spider: Any = None) -> Awaitable[None] | None:
        """Decide, write the decision, and hold an allowed request until its record is durable.
        Plain (not async): the usual request needs no coroutine of its own, only the wait for
        its batch; one whose origin files are still to be fetched continues in _decide_later."""
        state = self.state
        if state.files.owns(request):
            return None
        park_early(state, request)  # fleet mode: not queued behind this worker's own
        self._note_bypass_attempts(request)
        ctx = state.decider.context(
            request.url,
            request.method,
            via=request.meta.get(VIA_META),
            user_agent=self._user_agent(request),
            host_header=header(request, b"Host"),
            inherited=inherited_for(state, request),
        )
        refetch = state.files.refetch_in_flight(ctx.origin, request.url)
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
            result = state.decider.decide(ctx)
            if isinstance(result, Pending):
                return self._decide_later(request, ctx)
            decision = result
        return self._record(request, ctx, decision)

    def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Response:
        return discard.unless_allowed(self.state, request, response)

    async def explain(
        self, url: str, method: str = "GET", *, inherited: Inherited | None = None
    ) -> Decision:
        """The decision for url, fetching preflights as needed; nothing else is sent.
        inherited: what the page that links or embeds it says (`check --page-says`)."""
        return await self._decide(self.state.decider.context(url, method, inherited=inherited))

    async def decide(self, ctx: RequestContext) -> Decision:
        """The decision for ctx, its origin files fetched first through Scrapy as needed."""
        return await self._decide(ctx)

    async def _decide_later(self, request: Request, ctx: RequestContext) -> None:
        waiting = self._record(request, ctx, await self._decide(ctx))
        if waiting is not None:
            await waiting

    async def _decide(self, ctx: RequestContext) -> Decision:
        decider = self.state.decider
        result = decider.decide(ctx)
        # Each file is fetched once it is the next thing the decision needs: a URL robots.txt
        # refuses never costs a tdmrep.json. Each kind is asked for at most once here.
        asked: set[str] = set()
        while isinstance(result, Pending) and not asked.issuperset(result.kinds):
            asked.update(result.kinds)
            try:
                await self.state.files.ensure(result.origin, result.kinds)
            except FleetError as exc:  # fail closed: no decision on per-process state
                return unavailable(self.state, exc)
            result = decider.decide(ctx)
        if isinstance(result, Pending):  # the preflight left nothing usable: refuse
            kind = result.kinds[0]
            return Decision(
                Verdict.DENY,
                UNREACHABLE[kind],
                {kind: {"error": f"no {decider.files[kind].path} entry after preflight"}},
                (),
            )
        return result

    def _user_agent(self, request: Request) -> str:
        # The gate pins the User-Agent it validated, before DefaultHeaders and UserAgent
        # (which only fill an empty header) could send another; a spider's own header is
        # judged as sent.
        sent = header(request, b"User-Agent")
        if sent is None:
            user_agent = self.state.config.user_agent
            request.headers[b"User-Agent"] = user_agent
            return user_agent
        return sent

    def _record(
        self, request: Request, ctx: RequestContext, decision: Decision
    ) -> Awaitable[None] | None:
        """Write the decision; an allowed request (or one only reported) gets what to wait on
        before it is sent. A refused one raises here: nothing is sent, nothing waits."""
        waiting, ticket = self.write_decision(request, ctx, decision)
        if ticket is not None:
            # What was judged (ctx), not the request as it is now: a decision that waited for
            # robots.txt was made on the request as it reached the gate, and whatever changed
            # it since (the spider keeps its requests) must be refused at the wire.
            self.state.tickets[request] = ticket
        return waiting

    def write_decision(
        self,
        request: Request | None,
        ctx: RequestContext,
        decision: Decision,
        browser: dict[str, Any] | None = None,
    ) -> tuple[Awaitable[None] | None, Ticket | None]:
        """The one place a decision is recorded and counted: what to wait on before sending
        (the record made durable) and the ticket of a request that goes on. A refusal raises
        PolicyViolation: nothing is sent, nothing waits.

        request is None for a request a browser makes (shell/browser.py): the same decision
        and record, with `browser` (its resource type) added to the record, and no downloader
        slot (the browser gate paces it itself, with the ticket's delay)."""
        state = self.state
        signed = None
        if decision.allowed or not (state.enforce or decision.reason in ENFORCED_IN_EVERY_MODE):
            # It will be sent: signed now (Web Bot Auth on), its parameters in its record.
            made = signing.at_decision(state, ctx.method, ctx.url)
            if isinstance(made, BotAuthError):
                decision = signing.not_signed(made)  # nothing unsigned is sent
            else:
                signed = made
        enforced = decision.allowed or state.enforce or decision.reason in ENFORCED_IN_EVERY_MODE
        # A request let through is paced, also one report-only mode merely reports: the
        # Crawl-delay of a URL robots.txt refuses is the site's all the same.
        delay = self._pace(request, decision) if decision.allowed or not enforced else 0.0
        via = ctx.via if ctx.via and self._same_platform(ctx, ctx.via) else None
        record = records.decision(
            ctx, decision, mode=state.settings.mode, enforced=enforced, via=via
        )
        if browser is not None:
            record["browser"] = browser
        if signed is not None:
            # The parameters and the base's hash, never the signature (a bearer token).
            record["signature"] = signed.record()
        platform = ctx.platform.id if ctx.platform else None
        waiting: Awaitable[None] | None = None
        try:
            if enforced and not decision.allowed:
                state.audit.write_soon(platform, record)  # nothing is sent: no need to wait
            else:
                waiting = state.audit.write(platform, record)  # write-ahead: durable, then sent
        except AuditError as exc:
            raise not_sent(exc) from None
        ticket = None
        if not enforced or decision.allowed:  # it goes on: the wire check compares with this
            ticket = Ticket(
                ctx.url, ctx.method, ctx.host_header, ctx.user_agent, delay, platform, signed
            )
        if decision.allowed:
            # Counted as decided; if the log fails before the record is durable, the request
            # is not sent (the wait raises IgnoreRequest) and the crawl closes.
            state.counts.add("allow")
            state.stats.inc_value("polite_crawl/allowed")
            return waiting, ticket
        reason = decision.reason.value
        if not enforced:
            state.counts.add(f"report/{reason}")
            state.stats.inc_value(f"polite_crawl/report_only/would_deny/{reason}")
            logger.warning(
                "polite_crawl REPORT-ONLY: would refuse %(url)s (%(reason)s)",
                {"url": ctx.url, "reason": reason},
            )
            return waiting, ticket
        state.counts.add(f"deny/{reason}")
        state.stats.inc_value(f"polite_crawl/denied/{reason}")
        logger.debug(
            "polite_crawl refused %(url)s (%(reason)s)", {"url": ctx.url, "reason": reason}
        )
        raise PolicyViolation(ctx.url, decision)

    def _same_platform(self, ctx: RequestContext, url: str) -> bool:
        # A platform's log names no other site: `via` is kept only within the platform.
        end = ctx.url.find("/", ctx.url.find("//") + 2)
        if end > 0 and url.startswith(ctx.url[: end + 1]):
            return True  # the same scheme://host:port/ as the request: a page linking its own
        host = (urlsplit(url).hostname or "").lower()
        return host == ctx.origin.host or self.state.decider.resolver.resolve(host) is ctx.platform

    def _pace(self, request: Request | None, decision: Decision) -> float:
        """The slower of robots.txt's Crawl-delay and a platform policy's minimum delay. The
        wire pacer (pacing.py) guarantees it; the downloader slot is slowed too, so that paced
        requests wait in its queue rather than in the handler."""
        crawl_delay = decision.evidence.get("robots", {}).get("crawl_delay")
        min_delay = decision.evidence.get("requirements", {}).get("min_delay", 0.0)
        wanted: float = max(crawl_delay["applied"] if crawl_delay else 0.0, min_delay)
        if wanted and request is not None:
            # A paced request waits in its host's slot: a spider-chosen download_slot per
            # request would otherwise sidestep the delay. The host is read from the URL decided
            # (urlparse_cached may still hold the parse of a URL rewritten before the gate).
            request.meta["download_slot"] = paced_host(request.url)
            slot_delay = apply_crawl_delay(self.state.crawler, request, wanted)
            (crawl_delay or decision.evidence["requirements"])["slot_delay"] = slot_delay
        return wanted

    def _note_bypass_attempts(self, request: Request) -> None:
        for key in BYPASS_META:
            if request.meta.get(key):
                self.state.stats.inc_value(f"polite_crawl/bypass_ignored/{key}")
                if key not in self._warned_bypass:
                    self._warned_bypass.add(key)
                    logger.warning(
                        "polite_crawl: request meta %(key)r cannot bypass the gate; it is "
                        "ignored (first seen on %(url)s)",
                        {"key": key, "url": request.url},
                    )


# The class path projects list by hand (polite_crawl.middlewares re-exports it).
PoliteDownloaderMiddleware = DecisionMiddleware
