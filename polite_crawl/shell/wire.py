"""The last step before the wire: a download handler around the one configured for the scheme.

The add-on puts it in DOWNLOAD_HANDLERS for every scheme and keeps the handlers it replaced in
ORIGINAL_SETTING. Every request Scrapy is about to send passes here after every downloader
middleware has run: it must be the one the gate decided (URL, method, Host, User-Agent; see
core/wire.py), a paced host waits its turn (pacing.py), and with Web Bot Auth on it is signed
(signing.py). Only then does the configured handler (HTTP/1.1, HTTP/2, a browser, ...) get it.
"""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import ParseResult, urlparse

from scrapy.exceptions import NotConfigured, NotSupported
from scrapy.utils import httpobj
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler, load_object

from polite_crawl.settings import refused_start
from polite_crawl.shell import signing
from polite_crawl.shell._compat import ASYNC_DOWNLOAD_HANDLERS
from polite_crawl.shell.crawl import CrawlComponent
from polite_crawl.shell.dnsguard import DnsGuard, guard_of
from polite_crawl.shell.fleet_wire import give_back, park_behind_own, take_rate, take_turn
from polite_crawl.shell.pacing import paced_host
from polite_crawl.shell.wire_check import on_wire

if TYPE_CHECKING:
    from collections.abc import MutableMapping

    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.internet.defer import Deferred


logger = logging.getLogger(__name__)

# Scrapy's cache of parsed request URLs (private; None if a Scrapy version drops it).
_URLPARSE_CACHE: MutableMapping[Any, ParseResult] | None = getattr(
    httpobj, "_urlparse_cache", None
)

# Not a POLITE_CRAWL_* name: those are the user's settings, validated; this one is the add-on's.
ORIGINAL_SETTING = "_POLITE_CRAWL_WRAPPED_DOWNLOAD_HANDLERS"


class _WireHandler(CrawlComponent):
    lazy = False

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.originals: dict[str, Any] = dict(crawler.settings.getdict(ORIGINAL_SETTING))
        self._inners: dict[str, Any] = {}
        self._dns_guard: DnsGuard | None = None  # the crawl's, found on the first request

    def _inner_for(self, request: Request) -> Any:
        # Scrapy builds one handler per scheme and routes a request by its (cached) scheme: the
        # configured handler of the scheme the checked URL has is built on its first request.
        scheme = urlparse_cached(request).scheme
        inner = self._inners.get(scheme)
        if inner is None:
            path = self.originals.get(scheme)
            if path is None:
                raise NotSupported(f"Unsupported URL scheme {scheme!r}")
            try:
                inner = build_from_crawler(load_object(path), self.crawler)
            except NotConfigured as exc:
                raise NotSupported(f"Unsupported URL scheme {scheme!r}: {exc}") from None
            _no_silent_retries(inner)
            self._inners[scheme] = inner
        return inner

    async def _download(self, request: Request, spider: Spider | None) -> Response:
        state = self.state
        if state is None:  # the add-on installed this handler, so its gate must be there
            raise NotSupported("polite_crawl's decision middleware is missing: nothing is sent")
        # One pacer per crawl, shared by every scheme's handler: http and https of one host
        # share its pace.
        pacer = state.pacer
        host = paced_host(request.url)
        decided = state.tickets.get(request)
        delay = decided.delay if decided is not None else 0.0
        if not delay:
            delay = pacer.delay_of(host)  # a preflight to a paced host waits too
        if delay and request.meta.get("playwright") and self._in_browser(request):
            delay = 0.0  # the browser gate paces the page's document when the browser sends it
        if not delay:
            await take_rate(state, request, host)  # a fleet-wide rate, if one is set
            ticket = on_wire(state, request)  # raises PolicyViolation: not sent
            if state.signer is not None:  # Web Bot Auth: signed last
                await signing.on_wire(state, request, ticket)
            return await self._send(request, spider)
        park_behind_own(state, request, host, delay)  # fleet mode: not behind our own
        await pacer.acquire(host, delay)
        turn = None
        try:
            # In a fleet, the host's rate and turn for the whole fleet too, after this
            # worker's own (the rate first: a turn taken is stamped when given back).
            await take_rate(state, request, host)
            turn = await take_turn(state, request, host, delay)
            # Compared after the wait, right before it is sent: a change made while the request
            # waited for its turn is refused too. Signed after the wait: a signature whose
            # parameters went stale in the queue is made again, with new ones recorded first.
            ticket = on_wire(state, request)
            if state.signer is not None:
                await signing.on_wire(state, request, ticket)
            return await self._send(request, spider)
        finally:
            await give_back(state, turn)  # the fleet's turn first: the next local waiter asks
            pacer.release(host)

    def _in_browser(self, request: Request) -> bool:
        # The gated browser handler (browser_handler.py) paces what the browser sends, request
        # by request: a page holding its host's turn here while it renders would stall every
        # subresource from that host.
        return bool(getattr(self._inner_for(request), "paces_itself", False))

    async def _send(self, request: Request, spider: Spider | None) -> Response:
        # Scrapy's handlers read the URL through urlparse_cached() (HTTP/2 builds its request
        # line and :authority from it), a parse kept per request object since its first use:
        # if the URL was rewritten in place afterwards, before the gate, it is a parse of
        # another URL than the one decided and checked. Parse the checked one again.
        if _URLPARSE_CACHE is not None:
            _URLPARSE_CACHE[request] = urlparse(request.url)
        # The DNS guard: its resolver wrapper in place and the request's proxy noted, after
        # every middleware and before the handler resolves a name (dnsguard.py).
        guard = self._dns_guard or guard_of(self.crawler)
        if guard is not None:
            self._dns_guard = guard
            guard.before_send(request)
        inner = self._inner_for(request)
        if inspect.iscoroutinefunction(inner.download_request):
            response: Response = await inner.download_request(request)
            return response
        return await maybe_deferred_to_future(inner.download_request(request, spider))

    async def _close(self) -> None:
        inners, self._inners = list(self._inners.values()), {}
        for inner in inners:
            close = getattr(inner, "close", None)
            if close is None:
                continue
            if inspect.iscoroutinefunction(close):
                await close()
            else:
                result = close()
                if result is not None:
                    await maybe_deferred_to_future(result)


def _no_silent_retries(handler: Any) -> None:
    """Twisted's connection pool (Scrapy's HTTP/1.1 handler keeps one as `_pool`) and aiohttp's
    session (Scrapy's aiohttp handler, `_session`) send an idempotent request again, at once,
    when the kept-alive connection it went out on fails before the answer, although the server
    may have read it: a second request the pacer never sees, made whatever RETRY_ENABLED or
    `dont_retry` say. Retrying is RetryMiddleware's job, through the gate and the pace."""
    pool = getattr(handler, "_pool", None)
    if pool is not None and hasattr(pool, "retryAutomatically"):
        pool.retryAutomatically = False
    session = getattr(handler, "_session", None)
    if session is not None and hasattr(session, "_retry_connection"):
        session._retry_connection = False


class AsyncWireHandler(_WireHandler):
    """Scrapy >= 2.14: download handlers are coroutines."""

    async def download_request(self, request: Request) -> Response:
        return await self._download(request, self.crawler.spider)

    async def close(self) -> None:
        await self._close()


class DeferredWireHandler(_WireHandler):
    """Scrapy 2.13: download handlers return Deferreds and take the spider."""

    def download_request(self, request: Request, spider: Spider) -> Deferred[Response]:
        return deferred_from_coro(self._download(request, spider))

    def close(self) -> Deferred[None]:
        return deferred_from_coro(self._close())


WireHandler: type[_WireHandler] = (
    AsyncWireHandler if ASYNC_DOWNLOAD_HANDLERS else DeferredWireHandler
)


def check_download_handlers(crawler: Crawler) -> None:
    """Every scheme's handler must be the wire check the add-on put there: a component that
    replaced one after the add-on would send requests nobody compared with their decision."""
    if crawler.settings.get(ORIGINAL_SETTING) is None:
        # The middleware listed by hand, without the add-on: nothing wrapped the handlers, and
        # nothing installed the response recorder or the DNS guard. Refused, and said so: the
        # audit log would otherwise miss what was fetched, with no word about why.
        message = (
            "polite_crawl's middleware is listed in DOWNLOADER_MIDDLEWARES but the add-on is "
            'not enabled: add ADDONS = {"polite_crawl.Addon": 0} (it installs the middlewares '
            "and what they rely on: the wire check, the response recorder, the DNS guard; "
            "listing the middlewares beside it is harmless)"
        )
        raise refused_start(logger, message)
    handlers = crawler.settings.getwithbase("DOWNLOAD_HANDLERS")
    for scheme in list(handlers):
        path = handlers[scheme]
        if path is not None and load_object(path) is not WireHandler:
            message = (
                f"DOWNLOAD_HANDLERS[{scheme!r}] = {path!r} was set after the polite_crawl "
                "add-on installed its wire check; list that handler in DOWNLOAD_HANDLERS (the "
                "add-on wraps it) instead of replacing polite_crawl's"
            )
            raise refused_start(logger, message)
