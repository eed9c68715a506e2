"""Every hop of a page's redirect chain decided before the browser sends it (docs/browser.md).

Playwright routes only the first URL of a redirect chain: the browser follows each later hop
itself, and Playwright lets it go unrouted. The first hop is decided by the route, before the
browser gets the redirect (browser_handler.py, `_navigate`); for the hops after it, Chromium
lets a second DevTools client intercept the same requests (the Fetch domain), paused until
every client lets them go. Each page whose navigation redirects gets one such client: it pauses
every document request of the page, lets a chain's first URL go (the route decides it) and the
first hop the route admitted, and has the gate decide every later hop (its record durable
first) before it is let go, with the User-Agent the gate judged and, with Web Bot Auth on, the
signature made with the decision. A hop it cannot place in a chain is refused (fail closed).

A frame in another process (a cross-site iframe) is not the page's target and so not seen
here: browser_handler.py follows a frame's redirects itself instead (`_follow`).

Chromium only (the add-on refuses other browsers at start).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from urllib.parse import urldefrag

from w3lib.url import safe_url_string

from polite_crawl.shell.crawl import state_of

if TYPE_CHECKING:
    from playwright.async_api import CDPSession, Page, Request
    from scrapy.crawler import Crawler

    from polite_crawl.shell.browser import BrowserGate

logger = logging.getLogger(__name__)

CHAIN_LIMIT = 1000  # a page's document requests remembered (to place a hop), oldest forgotten
# Every document request of the page, before it is sent.
DOCUMENTS = {"urlPattern": "*", "resourceType": "Document", "requestStage": "Request"}


class GatedHandler(Protocol):
    """What of the gated browser handler (browser_handler.py, which imports this) is used."""

    gate: BrowserGate
    crawler_of_gate: Crawler

    def judged(
        self, request: Request, headers: dict[str, str], signature: dict[str, str] | None = None
    ) -> dict[str, str]: ...


class _Link(NamedTuple):
    navigation: Request | None  # the routed request the chain began with (None: not known yet)
    url: str


class _Admitted(NamedTuple):
    navigation: Request
    signature: dict[str, str] | None


class PageHops:
    """One page's interception of its redirect hops."""

    def __init__(self, handler: GatedHandler, session: CDPSession) -> None:
        self._handler = handler
        self._session = session
        self._links: OrderedDict[str, _Link] = OrderedDict()  # by interception id
        self._admitted: dict[str, list[_Admitted]] = {}  # first hops the route admitted, by URL
        self._tasks: set[asyncio.Task[None]] = set()

    def expect(self, url: str, navigation: Request, signature: dict[str, str] | None) -> None:
        """The route admitted url as the first hop of navigation's chain: let it go when the
        browser follows it."""
        self._admitted.setdefault(_key(url), []).append(_Admitted(navigation, signature))

    def paused(self, event: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._paused(event))
        self._tasks.add(task)  # kept until done: the loop holds tasks only weakly
        task.add_done_callback(self._tasks.discard)

    async def _paused(self, event: dict[str, Any]) -> None:
        request_id: str = event["requestId"]
        url: str = event["request"]["url"]
        try:
            headers = await self._judge(event, request_id, url)
        except Exception as exc:  # fail closed: the hop is not sent
            self._refuse(url, event, exc)
            headers = None
        while len(self._links) > CHAIN_LIMIT:
            self._links.popitem(last=False)
        with contextlib.suppress(Exception):  # the page is gone: nothing to let go
            if headers is None:
                await self._session.send(
                    "Fetch.failRequest",
                    {"requestId": request_id, "errorReason": "BlockedByClient"},
                )
            elif not headers:  # a chain's first URL: as the route sent it
                await self._session.send("Fetch.continueRequest", {"requestId": request_id})
            else:
                pairs = [{"name": k, "value": v} for k, v in headers.items()]
                await self._session.send(
                    "Fetch.continueRequest", {"requestId": request_id, "headers": pairs}
                )

    async def _judge(
        self, event: dict[str, Any], request_id: str, url: str
    ) -> dict[str, str] | None:
        """The headers to send a hop with ({}: a chain's first URL, sent as it is; None:
        refused, recorded)."""
        admitted = self._admitted.get(_key(url))
        if admitted:
            first = admitted.pop(0)
            if not admitted:
                del self._admitted[_key(url)]
            self._links[request_id] = _Link(first.navigation, url)
            return self._headers(event, first.navigation, first.signature)
        previous_id = event.get("redirectedRequestId")
        if previous_id is None:  # a chain's first URL: routed, and decided there
            self._links[request_id] = _Link(None, url)
            return {}
        previous = self._links.pop(previous_id, None)
        if previous is None or previous.navigation is None:
            raise RuntimeError(f"a redirect hop of no chain the gate saw begin ({url})")
        navigation = previous.navigation
        method: str = event["request"]["method"]
        # The browser sends it as soon as it is let go: its turn ends then.
        sent = functools.partial(asyncio.sleep, 0)
        gate = self._handler.gate
        passed = await gate.admit(navigation, url, method, sent, previous=previous.url)
        if passed is None:
            return None  # refused and recorded
        self._links[request_id] = _Link(navigation, url)
        return self._headers(event, navigation, passed.signature)

    def _headers(
        self, event: dict[str, Any], navigation: Request, signature: dict[str, str] | None
    ) -> dict[str, str]:
        headers: dict[str, str] = dict(event["request"]["headers"])
        return self._handler.judged(navigation, headers, signature or {})

    def _refuse(self, url: str, event: dict[str, Any], error: Exception) -> None:
        state = state_of(self._handler.crawler_of_gate)
        if state is not None:
            method = event["request"].get("method", "GET")
            self._handler.gate.refuse(state, url, method, "document", error)


class HopGuard:
    """The pages of one browser handler that have their PageHops: those scrapy-playwright
    makes, started before their first navigation. Chromium intercepts a request for the
    clients intercepting when it began, so a guard started later would miss the hops of a
    navigation already under way: a page made otherwise (a popup) has none, and its
    navigations' redirects are followed by the route itself (browser_handler.py)."""

    def __init__(self, handler: GatedHandler) -> None:
        self._handler = handler
        self._pages: weakref.WeakKeyDictionary[Page, PageHops] = weakref.WeakKeyDictionary()

    async def start(self, page: Page) -> None:
        """Before the page's first navigation."""
        session = await page.context.new_cdp_session(page)
        hops = PageHops(self._handler, session)
        session.on("Fetch.requestPaused", hops.paused)
        await session.send("Fetch.enable", {"patterns": [DOCUMENTS]})
        self._pages[page] = hops

    def of(self, page: Page) -> PageHops | None:
        return self._pages.get(page)


def _key(url: str) -> str:
    """A URL as Chromium reports a request's (no fragment, percent-encoded)."""
    return safe_url_string(urldefrag(url)[0])
