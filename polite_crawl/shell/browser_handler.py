"""scrapy-playwright's download handler with the gate wired into the browser (browser.py).

The add-on puts this class where the user listed `ScrapyPlaywrightDownloadHandler` (behind the
wire check, wire.py); the user's settings are read by scrapy-playwright as usual. What changes:

- PLAYWRIGHT_ABORT_REQUEST, scrapy-playwright's predicate for every request a page it routes
  makes, is the gate; a user's own predicate still runs, after the gate allows.
- Every browser context: service workers blocked (their requests bypass page routing), a
  context-level route deciding what no page route sees (popups, pages opened by script), every
  WebSocket refused and recorded, and a listener noting each frame's document (its signals).
- The request headers (PLAYWRIGHT_PROCESS_REQUEST_HEADERS, the user's or scrapy-playwright's)
  carry the User-Agent the gate judged, and a Web Bot Auth signature when signing is on.
- Every page it makes: a hop guard (browser_hops.py) that has the gate decide each redirect hop
  the browser follows for the page's navigations, before it is sent.
- A page's own navigation refused in the browser fails its Scrapy request with the gate's
  PolicyViolation, not Playwright's error.

Imported only when scrapy-playwright is configured: it imports scrapy-playwright.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from scrapy.exceptions import NotSupported
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from polite_crawl.browser import CHECKED_BROWSER
from polite_crawl.browser.size import declared_size
from polite_crawl.core.decision import Reason
from polite_crawl.shell.browser import BrowserGate
from polite_crawl.shell.browser_hops import HopGuard
from polite_crawl.shell.crawl import state_of

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from playwright.async_api import APIResponse, Request, Route, WebSocketRoute
    from scrapy.crawler import Crawler


logger = logging.getLogger(__name__)


REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Chromium switches for the requests it makes on its own behalf, outside any page.
QUIET_BROWSER = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-domain-reliability",
    "--disable-sync",
    "--no-pings",
    "--metrics-recording-only",
    # WebRTC's UDP would go around the proxy and every route: only proxied TCP is left to it.
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)


# scrapy-playwright's own methods this class overrides or calls: a release without one of them
# would leave a side door open (a context with service workers, a popup unrouted), so the add-on
# refuses to start on it (check_supported).
METHODS = (
    "_launch",
    "_download_request",
    "_create_browser_context",
    "_create_page",
    "_make_request_handler",
)
ATTRIBUTES = ("abort_request", "process_request_headers")  # set on each handler


def check_supported() -> str | None:
    """Why the installed scrapy-playwright cannot be gated (None: it can)."""
    missing = [
        name
        for name in METHODS
        if not callable(getattr(ScrapyPlaywrightDownloadHandler, name, None))
    ]
    if missing:
        return f"scrapy-playwright's handler has no {', '.join(missing)}"
    return None


class GatedPlaywrightHandler(ScrapyPlaywrightDownloadHandler):  # type: ignore[misc]
    # The wire handler leaves this handler's pages unpaced: the gate paces each request the
    # browser sends, the page's own document included (a page holding its host's turn while
    # it renders would stall every subresource from that host).
    paces_itself = True

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.crawler_of_gate = crawler  # Scrapy 2.13's handlers keep it privately
        for name in ATTRIBUTES:
            if not hasattr(self, name):
                raise NotSupported(f"scrapy-playwright's handler has no {name}: not gated")
        if self.config.browser_type_name != CHECKED_BROWSER:  # the add-on refused it at start
            raise NotSupported(f"{self.config.browser_type_name}: not gated")
        # The browser's own traffic (component updates, safe-browsing lists, metrics) is no
        # page's request, and no route sees it: switched off.
        options = self.config.launch_options
        options["args"] = [*options.get("args", ()), *QUIET_BROWSER]
        self.gate = BrowserGate(crawler)
        self.hops = HopGuard(self)
        # scrapy-playwright's own attributes (its module is untyped): read as Any.
        self._user_abort: Any = getattr(self, "abort_request", None)
        self.abort_request = self._abort
        self._user_headers: Any = getattr(self, "process_request_headers", None)
        self.process_request_headers = self._headers
        self.max_redirects = crawler.settings.getint("REDIRECT_MAX_TIMES")
        self._launched = False
        self._launching = asyncio.Lock()

    async def _launch(self) -> None:
        async with self._launching:
            if not self._launched:
                await super()._launch()
                self._launched = True

    async def _download_request(self, request: Any, spider: Any = None) -> Any:
        # scrapy-playwright starts its browser on engine_started; the wire check builds the
        # handler it wraps on the first request of its scheme, after that signal.
        if not self._launched:
            await self._launch()
        # The page's route is made within this call (_make_request_handler): it finds where to
        # put a refusal of the page's own navigation there.
        refused = _PageRefusal()
        token = _PAGE_REFUSAL.set(refused)
        try:
            return await super()._download_request(request, spider)
        except Exception as exc:
            # Playwright reports a refused navigation (or hop of it) as its own error
            # (net::ERR_FAILED): the errback gets the refusal instead, as for a request refused
            # before the browser.
            if refused.navigation is not None:
                violation = self.gate.refusal_of(refused.navigation)
                if violation is not None:
                    raise violation from exc
            raise
        finally:
            _PAGE_REFUSAL.reset(token)

    async def _abort(self, request: Request) -> bool:
        """scrapy-playwright's predicate: True aborts the request."""
        if not await self.gate.allows(request):
            return True
        if self._user_abort is None:
            return False
        answer = self._user_abort(request)
        if inspect.isawaitable(answer):
            answer = await answer
        return bool(answer)

    async def _headers(
        self,
        *,
        browser_type_name: str,
        playwright_request: Request,
        scrapy_request_data: dict[str, Any],
    ) -> dict[str, str]:
        if self._user_headers is None:
            headers: dict[str, str] = await playwright_request.all_headers()
        else:
            made = self._user_headers(
                browser_type_name=browser_type_name,
                playwright_request=playwright_request,
                scrapy_request_data=scrapy_request_data,
            )
            headers = dict(await made if inspect.isawaitable(made) else made)
        return self.judged(playwright_request, headers)

    def judged(
        self, request: Request, headers: dict[str, str], signature: dict[str, str] | None = None
    ) -> dict[str, str]:
        """The headers as the gate judged them: its User-Agent, and the signature made with
        the decision (Web Bot Auth)."""
        state = state_of(self.crawler_of_gate)
        out = {k: v for k, v in headers.items() if k.lower() != "user-agent"}
        if state is not None:
            out["user-agent"] = state.config.user_agent
        signed = signature if signature is not None else self.gate.signature_of(request)
        if signed is not None:
            out.update(signed)
        return out

    async def _create_page(self, request: Any, spider: Any = None) -> Any:
        page = await super()._create_page(request, spider)
        try:
            await self.hops.start(page)  # before its first navigation
        except Exception:  # fail closed: a page whose redirects cannot be seen is not used
            with contextlib.suppress(Exception):
                await page.close()
            raise
        return page

    async def _create_browser_context(
        self, name: str, context_kwargs: dict[str, Any] | None, spider: Any = None
    ) -> Any:
        kwargs = dict(context_kwargs or {})
        if kwargs.get("service_workers", "block") != "block":
            logger.warning(
                "polite_crawl: context %(name)r asked for service workers; they are blocked "
                "(their requests would bypass the gate)",
                {"name": name},
            )
        kwargs["service_workers"] = "block"
        wrapper = await super()._create_browser_context(name, kwargs, spider)
        context = wrapper.context
        context.on("response", self.gate.saw_response)
        await context.route("**", self._context_route)
        await context.route_web_socket("**", self._websocket)
        return wrapper

    def _make_request_handler(self, **kwargs: Any) -> Callable[..., Awaitable[None]]:
        """The route scrapy-playwright puts on each page it makes. A navigation goes through
        its own handler (the predicate, the gate, decides it; it applies the Scrapy request's
        method, body and headers), whose `continue_` is ours (`_navigate`): a redirect's
        target is decided before the browser follows it. Every other request is fetched by the
        gate itself (`_fetch`), each redirect hop decided, the answer checked before the page
        gets it."""
        theirs = super()._make_request_handler(**kwargs)
        scrapy_request_data = {
            key: kwargs.get(key) for key in ("method", "url", "headers", "body", "encoding")
        }
        refused = _PAGE_REFUSAL.get()

        async def route_request(route: Route, request: Request) -> None:
            if request.is_navigation_request():
                if refused is not None and refused.navigation is None and _is_main_frame(request):
                    refused.navigation = request  # the Scrapy request's own (its page's first)
                try:
                    await theirs(_NavigationRoute(self, route, request), request)
                except Exception:  # fail closed: an unhandled route would hang the page
                    logger.debug("polite_crawl: route failed for %s", request.url, exc_info=True)
                    with contextlib.suppress(Exception):  # already handled, or the page is gone
                        await route.abort()
            else:
                await self._fetch(route, request, scrapy_request_data)

        return route_request

    async def _context_route(self, route: Route, request: Request) -> None:
        """What no page route of scrapy-playwright handles: a popup's or a script-opened
        page's requests. Decided like the others; an error aborts."""
        if not request.is_navigation_request():
            await self._fetch(route, request, None)
            return
        try:
            if await self._abort(request):
                await route.abort()
                return
            headers = self.judged(request, await request.all_headers())
            await self._navigate(route, request, {"headers": headers})
        except Exception:  # fail closed: whatever it was, the request is not sent
            logger.debug("polite_crawl: browser route failed for %s", request.url, exc_info=True)
            with contextlib.suppress(Exception):  # already handled, or the page is gone
                await route.abort()

    async def _navigate(self, route: Route, request: Request, overrides: dict[str, Any]) -> None:
        """A document the gate allowed, fetched for the browser: a redirect's target is
        decided (and recorded) before the browser gets the redirect, and refused, the
        navigation is aborted. The browser follows an allowed redirect itself (the URL the
        page reports is then the chain's last), Playwright leaving it unrouted: the page's
        hop guard (browser_hops.py) decides the hops after it. A frame's document may load in
        another process than its page, out of the hop guard's sight, and a popup has no hop
        guard: their redirects are followed here, each decided, and the frame or popup gets
        the last answer (under the first URL)."""
        hops = self.hops.of(request.frame.page) if _is_main_frame(request) else None
        if hops is None:
            headers = overrides.get("headers") or self.judged(request, await request.all_headers())
            followed = await self._follow(route, request, headers)
            if followed is None:
                await route.abort()
                return
            try:
                await route.fulfill(response=followed[1])
            finally:
                await followed[1].dispose()
            return
        method = overrides.get("method", request.method)
        answer = await route.fetch(
            url=request.url,
            method=method,
            headers=overrides.get("headers"),
            post_data=overrides.get("post_data", request.post_data_buffer),
            max_redirects=0,
            timeout=self.gate.timeout * 1000,
        )
        try:
            location = answer.headers.get("location")
            if answer.status in REDIRECTS and location is not None:
                target = urljoin(request.url, location)
                if answer.status == 303 or (answer.status in (301, 302) and method == "POST"):
                    method = "GET"
                # The browser sends it as soon as it has the redirect: its turn ends then.
                sent = functools.partial(asyncio.sleep, 0)
                passed = await self.gate.admit(request, target, method, sent)
                if passed is None:
                    await route.abort()
                    return
                hops.expect(target, request, passed.signature)
            await route.fulfill(response=answer)
        finally:
            await answer.dispose()

    async def _fetch(
        self, route: Route, request: Request, scrapy_request_data: dict[str, Any] | None
    ) -> None:
        """A page's subresource, fetched for the browser hop by hop: each redirect target is
        decided (and recorded) before it is requested, and the final answer's own signals are
        checked before the page gets it. Any error aborts the request."""
        try:
            if await self._abort(request):
                await route.abort()
                return
            if scrapy_request_data is None:
                headers = self.judged(request, await request.all_headers())
            else:
                headers = await self._headers(
                    browser_type_name=self.config.browser_type_name,
                    playwright_request=request,
                    scrapy_request_data=scrapy_request_data,
                )
            response = await self._follow(route, request, headers)
            if response is None:
                await route.abort()
                return
            url, answer = response
            try:
                # The declared size first: an answer over DOWNLOAD_MAXSIZE is not read into
                # this process (Playwright's driver holds it until disposed).
                if self.gate.too_large(request, url, declared_size(_pairs(answer))):
                    await route.abort()
                    return
                body = await answer.body()
                if self.gate.too_large(request, url, len(body)) or self.gate.discards(
                    request, url, _pairs(answer), body
                ):
                    await route.abort()
                else:
                    await route.fulfill(response=answer)
            finally:
                await answer.dispose()
        except Exception:  # fail closed: whatever it was, the page does not get it
            logger.debug("polite_crawl: browser fetch failed for %s", request.url, exc_info=True)
            with contextlib.suppress(Exception):  # already handled, or the page is gone
                await route.abort()

    async def _follow(
        self, route: Route, request: Request, headers: dict[str, str]
    ) -> tuple[str, APIResponse] | None:
        """The answer to request, redirects followed here, each hop admitted by the gate
        first (None: a hop was refused, or too many)."""
        url, method = request.url, request.method
        post_data = request.post_data_buffer
        loop = asyncio.get_running_loop()
        hop_answered: asyncio.Future[None] | None = None  # a paced hop's turn ends with it
        try:
            for _ in range(self.max_redirects + 1):
                answer = await route.fetch(
                    url=url,
                    method=method,
                    headers=headers,
                    post_data=post_data,
                    max_redirects=0,
                    timeout=self.gate.timeout * 1000,
                )
                if hop_answered is not None:
                    hop_answered.set_result(None)
                    hop_answered = None
                location = answer.headers.get("location")
                if answer.status not in REDIRECTS or location is None:
                    return url, answer
                await answer.dispose()
                previous, url = url, urljoin(url, location)
                if answer.status == 303 or (answer.status in (301, 302) and method == "POST"):
                    method, post_data = ("HEAD" if method == "HEAD" else "GET"), None
                hop_answered = waiting = loop.create_future()
                passed = await self.gate.admit(
                    request, url, method, functools.partial(asyncio.shield, waiting), previous
                )
                if passed is None:
                    return None
                headers = self.judged(request, headers, passed.signature)
            return None  # more hops than REDIRECT_MAX_TIMES
        finally:
            if hop_answered is not None and not hop_answered.done():
                hop_answered.set_result(None)

    async def _websocket(self, ws: WebSocketRoute) -> None:
        """A WebSocket is a protocol the gate does not decide: refused and recorded."""
        state = state_of(self.crawler_of_gate)
        if state is not None:
            self.gate.refuse(
                state, ws.url, "GET", "websocket", "WebSocket", reason=Reason.BROWSER_WEBSOCKET
            )
        await ws.close(code=1008, reason="refused by polite_crawl")


class _PageRefusal:
    """A Scrapy request's own navigation in the browser: the gate knows if it was refused."""

    def __init__(self) -> None:
        self.navigation: Request | None = None


_PAGE_REFUSAL: contextvars.ContextVar[_PageRefusal | None] = contextvars.ContextVar(
    "polite_crawl_page_refusal", default=None
)


def _is_main_frame(request: Request) -> bool:
    try:
        return request.frame.parent_frame is None
    except Exception:  # no frame (a service worker's request): no page's own navigation
        return False


def _pairs(answer: APIResponse) -> list[tuple[str, str]]:
    return [(header["name"], header["value"]) for header in answer.headers_array]


class _NavigationRoute:
    """The route scrapy-playwright's handler gets for a navigation: everything as Playwright's,
    but `continue_` sends it through the gated handler's `_navigate`."""

    def __init__(self, handler: GatedPlaywrightHandler, route: Route, request: Request) -> None:
        self._handler = handler
        self._route = route
        self._request = request

    async def continue_(self, **overrides: Any) -> None:
        try:
            await self._handler._navigate(self._route, self._request, overrides)
        except Exception:  # fail closed: whatever it was, the page does not get it
            logger.debug(
                "polite_crawl: navigation failed for %s", self._request.url, exc_info=True
            )
            with contextlib.suppress(Exception):  # already handled, or the page is gone
                await self._route.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._route, name)
