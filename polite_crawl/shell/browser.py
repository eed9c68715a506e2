"""The browser gate (scrapy-playwright): every request the browser makes is decided, and its
record made durable, before the browser sends it.

Only a page's first request passes Scrapy's downloader middlewares; the images, scripts,
XHR/fetch, frames and popups the browser loads while rendering go straight to the network.
The add-on swaps scrapy-playwright's download handler for a subclass (browser_handler.py,
put in place by browser_setup.py) whose route predicate is `BrowserGate.allows`, and which
fetches a page's subresources through `BrowserGate.admit` hop by hop: the same decision and
record as a Scrapy request (decide.py, `DecisionMiddleware.decide` and `write_decision`),
its origin files fetched through Scrapy while the browser request waits, the record carrying
the resource type (`browser`) and the page it came from (`via`), the host's pace kept. Any
error, or no answer within DOWNLOAD_TIMEOUT, aborts the request (`browser.gate_failed`,
recorded).

A page's opt-out signals (X-Robots-Tag, robots meta tags, TDMRep) reach its subresources
before they are sent: the browser only asks for a page's images once it has the page's
response, so the gate reads that response (headers and `<head>`) the way the spider
middleware reads a Scrapy response (links.py), and the page's images inherit what it says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, NamedTuple

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Headers, HtmlResponse

from polite_crawl.audit.logfile import AuditError
from polite_crawl.browser.resources import resource
from polite_crawl.browser.size import over
from polite_crawl.core.decision import Decision, Reason, Verdict
from polite_crawl.core.response_checks import Fetched
from polite_crawl.exceptions import PolicyViolation
from polite_crawl.fleet.errors import FleetError
from polite_crawl.shell import discard, records
from polite_crawl.shell.crawl import state_of
from polite_crawl.shell.decide import middleware_of
from polite_crawl.shell.links import PageSignals
from polite_crawl.shell.pacing import paced_host
from polite_crawl.signals.memory import Inherited

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from playwright.async_api import Frame, Request, Response
    from scrapy.crawler import Crawler

    from polite_crawl.core.wire import Ticket
    from polite_crawl.shell.crawl import CrawlState

logger = logging.getLogger(__name__)


UNPLACED_LIMIT = 1000  # documents not yet matched to a frame (popups), oldest forgotten first


class Passed(NamedTuple):
    signature: dict[str, str] | None  # Web Bot Auth headers made with the decision


class BrowserGate:
    """One per crawl's browser handler. `allows` is awaited by the browser's route for every
    request; it never raises."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.timeout = crawler.settings.getfloat("DOWNLOAD_TIMEOUT") or 180.0
        self.maxsize = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        self.warnsize = crawler.settings.getint("DOWNLOAD_WARNSIZE")
        # The last document each frame received (its response): what that frame's
        # subresources inherit. Filled by `saw_response`, a listener on every browser context.
        self._documents: weakref.WeakKeyDictionary[Frame, Response] = weakref.WeakKeyDictionary()
        self._signals: weakref.WeakKeyDictionary[Response, asyncio.Task[PageSignals]] = (
            weakref.WeakKeyDictionary()
        )
        self._unplaced: OrderedDict[str, Response] = OrderedDict()
        self._releasing: set[asyncio.Future[None]] = set()
        # What each request's page said (for the checks after the fetch).
        self._inherited: weakref.WeakKeyDictionary[Request, Inherited | None] = (
            weakref.WeakKeyDictionary()
        )
        # Web Bot Auth: the headers signed with each allowed request's decision, until the
        # browser handler puts them on it (in memory only: a signature is a bearer token).
        self._signed: weakref.WeakKeyDictionary[Request, dict[str, str]] = (
            weakref.WeakKeyDictionary()
        )

        # Why each refused request was refused: a page's own navigation refused reaches the
        # spider's errback as the PolicyViolation a Scrapy request would raise.
        self._refused: weakref.WeakKeyDictionary[Request, PolicyViolation] = (
            weakref.WeakKeyDictionary()
        )

    def signature_of(self, request: Request) -> dict[str, str] | None:
        return self._signed.pop(request, None)

    def refusal_of(self, request: Request) -> PolicyViolation | None:
        return self._refused.pop(request, None)

    def saw_response(self, response: Response) -> None:
        """A context's `response` listener: a frame's document, once it has arrived (a redirect
        is not one). Called in the order the browser reports, so a page's document is known
        before the browser can ask for anything the page names."""
        request = response.request
        if not request.is_navigation_request() or 300 <= response.status < 400:
            return
        try:
            self._documents[request.frame] = response
        except Exception:
            # A popup's first document is asked for before its frame exists (Playwright has no
            # frame for it): kept by URL, for the frame that shows it.
            self._unplaced[response.url] = response
            while len(self._unplaced) > UNPLACED_LIMIT:
                self._unplaced.popitem(last=False)

    async def allows(self, request: Request) -> bool:
        """scrapy-playwright's predicate: whether the browser may send request, decided,
        recorded (durable) and paced first. Never raises: whatever fails, the request is
        refused (and that is recorded)."""
        passed = await self.admit(request, request.url, request.method, request.response)
        if passed is None:
            return False
        if passed.signature is not None:
            self._signed[request] = passed.signature
        return True

    async def admit(
        self,
        request: Request,
        url: str,
        method: str,
        answered: Callable[[], Awaitable[Any]],
        previous: str | None = None,
    ) -> Passed | None:
        """Decide url (request's own, or a redirect hop of it: from previous, request's own
        URL unless given) as a request of request's page: None when refused (recorded). Once
        admitted, a paced host's turn is held until `answered()` completes (the browser has
        the answer, or gave up)."""
        state = state_of(self.crawler)
        if state is None:  # the add-on installed this gate, so its state must be there
            return None
        try:
            ticket, inherited = await asyncio.wait_for(
                self._judge(state, request, url, method, previous), self.timeout
            )
        except PolicyViolation as exc:  # refused and recorded
            self._refused[request] = exc
            return None
        except IgnoreRequest:
            return None  # its record could not be made durable: the crawl is closing for it
        except Exception as exc:  # fail closed, whatever it was
            self._refused[request] = self.refuse(state, url, method, request.resource_type, exc)
            return None
        self._inherited[request] = inherited
        signature = ticket.signed.headers.headers() if ticket.signed is not None else None
        try:
            if state.fleet is not None and state.fleet.rate is not None:
                # The fleet-wide host rate (POLITE_CRAWL_FLEET_HOST_RATE) holds for what the
                # browser sends too; a browser request waits for its slot (it cannot be sent
                # back to the scheduler).
                await state.fleet.rate.take(paced_host(url))
            if ticket.delay:
                await self._pace(state, url, ticket.delay, answered)
        except Exception as exc:  # the fleet's rate or turn could not be had: not sent
            self._refused[request] = self.refuse(state, url, method, request.resource_type, exc)
            return None
        return Passed(signature)

    async def _judge(
        self, state: CrawlState, request: Request, url: str, method: str, previous: str | None
    ) -> tuple[Ticket, Inherited | None]:
        middleware = middleware_of(self.crawler)
        if middleware is None:
            raise RuntimeError("polite_crawl's decision middleware is missing")
        navigation = request.is_navigation_request()
        what = resource(request.resource_type, navigation=navigation)
        frame = _frame(request)
        page, inherited = None, None
        if frame is not None:
            if navigation:
                parent = frame.parent_frame  # a frame's document came from its parent page
                page = parent.url if parent is not None else None
            else:
                document = await self._document_of(frame)
                page = document.url
                signals = await self._page_signals(state, document)
                inherited = Inherited(signals.directives, what.kind, page)
        ctx = state.decider.context(
            url,
            method,
            via=page,
            kind=what.kind,
            # What goes on the wire: the browser handler sends the configured User-Agent.
            user_agent=state.config.user_agent,
            inherited=inherited,
        )
        decision = await middleware.decide(ctx)
        browser = self._browser_field(request, url, previous)
        waiting, ticket = middleware.write_decision(None, ctx, decision, browser)
        if waiting is not None:
            await waiting  # write-ahead: the record is durable before the browser sends it
        if ticket is None:  # write_decision raises on a refusal: a ticket is always made
            raise RuntimeError(f"no ticket for {url}")
        if decision.allowed:  # not a refusal report-only mode let through
            state.stats.inc_value(f"polite_crawl/browser/allowed/{request.resource_type}")
        return ticket, inherited

    @staticmethod
    def _browser_field(request: Request, url: str, previous: str | None = None) -> dict[str, Any]:
        field: dict[str, Any] = {
            "resource_type": request.resource_type,
            "navigation": request.is_navigation_request(),
        }
        if url != request.url:  # a hop decided before it was followed
            field["redirected_from"] = previous or request.url
        return field

    def discards(
        self, request: Request, url: str, headers: list[tuple[str, str]], body: bytes
    ) -> bool:
        """After the fetch, before the browser gets it: whether the answer's own signals (its
        headers, an image's embedded metadata) forbid a declared purpose. A discard is
        recorded; in report-only mode recorded and handed over."""
        state = state_of(self.crawler)
        if state is None:
            return True
        config = state.config
        by_name: dict[str, list[str]] = {}
        for name, value in headers:
            by_name.setdefault(name.lower(), []).append(value)
        facts = Fetched(
            url, by_name, body, config.purposes, config.token, self._inherited.get(request)
        )
        decision = discard.judge(facts)
        if decision is None:
            return False
        return self._discard(state, request, url, decision, enforced=state.enforce)

    def too_large(self, request: Request, url: str, size: int | None) -> bool:
        """Whether an answer of size bytes (declared before its body is read, or the body's)
        is over DOWNLOAD_MAXSIZE: kept from the page and recorded as a discard, in every mode
        (Scrapy cancels such a download whatever the mode). Over DOWNLOAD_WARNSIZE: a
        warning, as Scrapy gives."""
        state = state_of(self.crawler)
        if state is None:
            return True
        if over(size, self.maxsize):
            logger.warning(
                "polite_crawl: %(url)s is %(size)d bytes, over DOWNLOAD_MAXSIZE (%(limit)d): "
                "kept from the page",
                {"url": url, "size": size, "limit": self.maxsize},
            )
            evidence = {"browser": {"size": size, "limit": self.maxsize}}
            decision = Decision(Verdict.DISCARD, Reason.BROWSER_TOO_LARGE, evidence, ())
            return self._discard(state, request, url, decision, enforced=True)
        if over(size, self.warnsize):
            logger.warning(
                "polite_crawl: %(url)s is %(size)d bytes, over DOWNLOAD_WARNSIZE (%(limit)d)",
                {"url": url, "size": size, "limit": self.warnsize},
            )
        return False

    def _discard(
        self, state: CrawlState, request: Request, url: str, decision: Decision, *, enforced: bool
    ) -> bool:
        """Record an answer kept from the page (or, not enforced, handed over all the same)."""
        ctx = state.decider.context(url, request.method, user_agent=state.config.user_agent)
        record = records.decision(
            ctx, decision, mode=state.settings.mode, enforced=enforced, via=None
        )
        record["browser"] = self._browser_field(request, url)
        with contextlib.suppress(AuditError):  # a failure has closed the crawl already
            state.audit.write_soon(ctx.platform.id if ctx.platform else None, record)
        reason = decision.reason.value
        if not enforced:
            state.stats.inc_value(f"polite_crawl/report_only/would_discard/{reason}")
            return False
        state.counts.add(f"discard/{reason}")
        state.stats.inc_value(f"polite_crawl/discarded/{reason}")
        return True

    async def _document_of(self, frame: Frame) -> Response:
        """The document whose signals a frame's subresource inherits: the frame's own, or for
        a frame a script made (about:blank) the nearest parent's, or its page opener's. A
        subresource whose page the gate never saw is not judged without it: RuntimeError
        (the request is refused, fail closed)."""
        current: Frame | None = frame
        while current is not None:
            found = self._documents.get(current)
            if found is None:
                found = self._unplaced.pop(current.url, None)
                if found is not None:
                    self._documents[current] = found
            if found is not None:
                return found
            if current.url.startswith(("http:", "https:")):
                break  # a document of its own, not seen: its signals are unknown
            parent = current.parent_frame
            if parent is None:
                opener = await current.page.opener()
                parent = opener.main_frame if opener is not None else None
            current = parent
        raise RuntimeError(f"the page that asked for it ({frame.url}) was not seen by the gate")

    async def _page_signals(self, state: CrawlState, document: Response) -> PageSignals:
        task = self._signals.get(document)
        if task is None:
            task = asyncio.ensure_future(_read_page(state, document))
            self._signals[document] = task
        return await asyncio.shield(task)

    async def _pace(
        self, state: CrawlState, url: str, delay: float, answered: Callable[[], Awaitable[Any]]
    ) -> None:
        """The host's turn, as at the wire (pacing.py): held until the browser has the answer
        (or gave up), so that the next request to the host waits the delay after it."""
        host = paced_host(url)
        await state.pacer.acquire(host, delay)
        turn = None
        try:
            if state.fleet is not None:
                turn = await state.fleet.pacer.acquire(host, delay)
        except FleetError:
            state.pacer.release(host)
            raise
        release = asyncio.ensure_future(self._release(state, host, turn, answered))
        self._releasing.add(release)  # kept until done: the loop holds tasks only weakly
        release.add_done_callback(self._releasing.discard)

    async def _release(
        self, state: CrawlState, host: str, turn: Any, answered: Callable[[], Awaitable[Any]]
    ) -> None:
        try:
            await asyncio.wait_for(answered(), self.timeout)
        except Exception:  # failed or timed out: the turn is passed on all the same
            logger.debug("polite_crawl: no answer from %s", host, exc_info=True)
        finally:
            if turn is not None and state.fleet is not None:
                try:
                    await state.fleet.pacer.release(turn)
                except FleetError:
                    logger.exception("polite_crawl: could not give back the fleet's turn")
            state.pacer.release(host)

    def refuse(
        self,
        state: CrawlState,
        url: str,
        method: str,
        resource_type: str,
        error: BaseException | str,
        reason: Reason = Reason.BROWSER_GATE_FAILED,
    ) -> PolicyViolation:
        """Record a browser request refused without a decision (the gate failed, or a protocol
        it does not decide); enforced in every mode. Never raises: returns the refusal."""
        if isinstance(error, asyncio.TimeoutError):
            error = f"no decision within DOWNLOAD_TIMEOUT = {self.timeout}s"
        message = str(error) or type(error).__name__
        if reason is Reason.BROWSER_GATE_FAILED:
            logger.error(
                "polite_crawl: the browser gate failed on %(url)s (%(error)s): not sent",
                {"url": url, "error": message},
            )
        ctx = state.decider.context(url, method, user_agent=state.config.user_agent)
        decision = Decision(Verdict.DENY, reason, {"browser": {"error": message}}, ())
        record = records.decision(ctx, decision, mode=state.settings.mode, enforced=True, via=None)
        record["browser"] = {"resource_type": resource_type, "navigation": False}
        with contextlib.suppress(AuditError):  # the crawl is closing for it already
            state.audit.write_soon(ctx.platform.id if ctx.platform else None, record)
        state.counts.add(f"deny/{reason.value}")
        state.stats.inc_value(f"polite_crawl/denied/{reason.value}")
        return PolicyViolation(url, decision)


def _frame(request: Request) -> Frame | None:
    try:
        return request.frame
    except Exception:  # a service worker's request has no frame
        return None


async def _read_page(state: CrawlState, document: Response) -> PageSignals:
    """What a document the browser received says about its subresources, read from its headers
    and its `<head>` as the spider middleware reads a Scrapy response."""
    headers = Headers()
    for pair in await document.headers_array():
        headers.appendlist(pair["name"], pair["value"])
    headers.pop(b"Content-Encoding", None)  # the browser gives the body decoded
    body = await document.body()
    response = HtmlResponse(document.url, status=document.status, headers=headers, body=body)
    return PageSignals(response, state.config.token, state.settings.head_scan_limit)
