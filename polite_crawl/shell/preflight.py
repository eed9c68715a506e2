"""Origin preflights (robots.txt, and when a declared purpose makes them relevant
/.well-known/tdmrep.json and /ai.txt) fetched through Scrapy's own engine (so proxies, TLS
settings and the user agent apply): one fetch in flight per origin and file, every other request
for that origin parked until it is known. Redirects are followed here, not by
RedirectMiddleware, so that each hop is counted and the rules are applied to the initial origin
(RFC 9309 §2.3.1.2; the same for the other files).
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
import weakref
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from scrapy import Request, signals
from scrapy.exceptions import StopDownload
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred

from polite_crawl.core.wire import Ticket
from polite_crawl.fleet.errors import FleetError
from polite_crawl.origin.inflate import ACCEPT_ENCODING, codings, inflate
from polite_crawl.origin.store import MAX_REDIRECTS, FetchResult
from polite_crawl.shell._compat import engine_download

if TYPE_CHECKING:
    from collections.abc import Callable

    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from polite_crawl.core.context import Origin
    from polite_crawl.fleet.origins import Obtained, SharedOriginFiles
    from polite_crawl.origin.store import Entry, OriginStore

logger = logging.getLogger(__name__)

_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)", re.IGNORECASE)
MIN_MAX_AGE = 60.0  # a max-age of 0 must not turn into one robots.txt fetch per request


class OriginFileFetcher:
    DOWNLOAD_PRIORITY = 1000

    def __init__(
        self,
        crawler: Crawler,
        stores: dict[str, OriginStore[Any]],
        on_fetched: Callable[[str, Origin, FetchResult, Entry[Any], Obtained | None], None],
        *,
        user_agent: str,
        hop_refusal: Callable[[str], str | None],
        shared: SharedOriginFiles | None = None,
    ) -> None:
        self.crawler = crawler
        self.stores = stores  # preflight kind -> the store its answers go to
        self.on_fetched = on_fetched  # records the fetch (audit log, evidence store)
        self.user_agent = user_agent
        # A redirect hop is a request to another URL, perhaps another site: it is judged by the
        # offline checks (scheme, platform terms) before it is followed. None means admissible.
        self.hop_refusal = hop_refusal
        # Fleet mode: the fetch of a file is the fleet's, one per origin (fleet/origins.py).
        self.shared = shared
        # Requests we created ourselves, in flight: the only ones the gate lets through
        # unjudged. Object identity plus the URL it was made for, not a meta key, so spider code
        # cannot forge the exemption; each leaves the set as soon as its answer is in.
        self._mine: weakref.WeakKeyDictionary[Request, str] = weakref.WeakKeyDictionary()
        self._limit: weakref.WeakKeyDictionary[Request, int] = weakref.WeakKeyDictionary()
        self._kind: weakref.WeakKeyDictionary[Request, str] = weakref.WeakKeyDictionary()
        self._received: weakref.WeakKeyDictionary[Request, int] = weakref.WeakKeyDictionary()
        self._waiters: dict[tuple[Origin, str], list[Deferred[None]]] = {}
        self._pins = list({id(s.pins): s.pins for s in stores.values()}.values())
        # Listening to bytes_received only while a preflight is in flight: a receiver costs
        # every response of the crawl a signal dispatch (#21), and only preflights are read.
        self._in_flight = 0

    def owns(self, request: Request) -> bool:
        # Asked three times for every request: with no preflight in flight (the usual case)
        # answered without the weak-reference lookup (#21).
        mine = self._mine
        return bool(mine) and mine.get(request) == request.url

    def ticket(self, request: Request) -> Ticket | None:
        """What one of our own requests was made as (None: not ours): at the wire, it must
        still be that (wire_check.py)."""
        url = self._mine.get(request)
        if url is None:
            return None
        return Ticket(url, "GET", None, self.user_agent)

    def kind_of(self, request: Request) -> str | None:
        """The preflight kind (robots, tdmrep, aitxt) one of our requests fetches."""
        return self._kind.get(request) if self.owns(request) else None

    def refetch_in_flight(self, origin: Origin, url: str) -> str | None:
        """The kind of preflight in flight whose file url is, when a request for it is not the
        preflight itself (e.g. re-issued by another middleware): waiting would deadlock."""
        for kind, store in self.stores.items():
            if (origin, kind) in self._waiters and url == origin.url(store.path):
                return kind
        return None

    async def ensure(self, origin: Origin, kinds: tuple[str, ...] = ("robots",)) -> None:
        """Return once the stores hold a fresh entry for origin (or the fetch has failed)."""
        # Held while we wait, so that no store evicts the origin before the caller decides
        # (it does so at once on return). See origin/pins.py.
        with contextlib.ExitStack() as held:
            for pins in self._pins:
                held.enter_context(pins.holding(origin))
            for kind in kinds:
                await self._ensure(origin, kind)

    async def _ensure(self, origin: Origin, kind: str) -> None:
        key = (origin, kind)
        waiters = self._waiters.get(key)
        if waiters is not None:
            waiter: Deferred[None] = Deferred()
            waiters.append(waiter)
            await maybe_deferred_to_future(waiter)
            return
        self._waiters[key] = []
        failed: FleetError | None = None
        try:
            store = self.stores[kind]
            fleet = None
            if self.shared is None:
                result = await self._fetch(origin, store.path, store.limit, kind)
            else:
                fleet = await self.shared.obtain(
                    kind,
                    str(origin),
                    origin.url(store.path),
                    store.limit,
                    lambda: self._fetch(origin, store.path, store.limit, kind),
                    store.lifetime,
                )
                result = fleet.result
            entry = store.record(origin, result)
            self.on_fetched(kind, origin, result, entry, fleet)
            stats = self.crawler.stats
            assert stats is not None
            stats.inc_value(f"polite_crawl/{kind}/{entry.state.value}")
            if fleet is not None and not fleet.here:
                stats.inc_value(f"polite_crawl/fleet/{kind}/shared")
        except FleetError as exc:
            failed = exc  # every request waiting for this file is refused for it
            raise
        finally:
            for waiter in self._waiters.pop(key):
                if failed is None:
                    waiter.callback(None)
                else:
                    waiter.errback(failed)

    async def _fetch(self, origin: Origin, path: str, limit: int, kind: str) -> FetchResult:
        robots_url = url = origin.url(path)
        seen = {url}
        for hops in range(MAX_REDIRECTS + 1):
            request = Request(
                url,
                callback=NO_CALLBACK,
                dont_filter=True,
                priority=self.DOWNLOAD_PRIORITY,
                # Only the codings FetchedRecorder reads within the limit (see inflate.py).
                headers={"User-Agent": self.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
                meta={
                    "dont_redirect": True,
                    "dont_retry": True,
                    "dont_cache": True,
                    "handle_httpstatus_all": True,
                },
            )
            self._mine[request] = request.url
            self._limit[request] = limit
            self._kind[request] = kind
            self._listen(+1)
            try:
                response = await engine_download(self.crawler, request)
            except Exception as exc:  # every failure to get an answer is "unreachable"
                logger.info("preflight %(url)s unreachable: %(exc)r", {"url": url, "exc": exc})
                return FetchResult(
                    robots_url, url, None, error=_describe(exc), hops=hops, fetched_at=time.time()
                )
            finally:
                self._mine.pop(request, None)
                self._listen(-1)
            location = response.headers.get(b"Location")
            if 300 <= response.status < 400 and location:
                url = urljoin(url, location.decode("latin-1"))
                refusal = self.hop_refusal(url)
                if refusal is not None:
                    return FetchResult(
                        robots_url,
                        url,
                        response.status,
                        hops=hops + 1,
                        error=f"redirect to a refused URL ({refusal})",
                        fetched_at=time.time(),
                    )
                if url in seen:
                    return FetchResult(
                        robots_url,
                        url,
                        response.status,
                        error="redirect loop",
                        hops=hops + 1,
                        fetched_at=time.time(),
                    )
                seen.add(url)
                continue
            return FetchResult(
                robots_url,
                response.url,
                response.status,
                response.body,
                hops=hops,
                max_age=_max_age(response),
                fetched_at=time.time(),
            )
        return FetchResult(
            robots_url,
            url,
            None,
            error=f"more than {MAX_REDIRECTS} redirects",
            hops=MAX_REDIRECTS + 1,
            fetched_at=time.time(),
        )

    def inflated(self, request: Request, response: Response) -> Response:
        """One of our responses with its content codings undone within the parse limit (raises
        UnreadableBody: the fetch fails, the file counts as unreachable); others unchanged."""
        limit = self._limit.get(request)
        applied = codings(response.headers.getlist(b"Content-Encoding"))
        if limit is None or not applied or not self.owns(request):
            return response
        # A download we stopped at the limit is a prefix of the file, whatever it inflates to.
        cut = self._received.get(request, 0) > limit
        body = inflate(response.body, applied, limit, cut=cut)
        headers = response.headers.copy()
        for name in (b"Content-Encoding", b"Content-Length"):  # they described the wire
            headers.pop(name, None)
        return response.replace(body=body, headers=headers)

    def _listen(self, change: int) -> None:
        # Connected before the first preflight in flight is sent, disconnected once the last
        # one's answer is in (its body, decoded or not, is read by then).
        self._in_flight += change
        if change > 0 and self._in_flight == 1:
            self.crawler.signals.connect(self._bytes_received, signal=signals.bytes_received)
        elif self._in_flight == 0:
            self.crawler.signals.disconnect(self._bytes_received, signal=signals.bytes_received)

    def _bytes_received(self, data: bytes, request: Request, **kwargs: Any) -> None:
        # Stop reading past the parse limit: a huge robots.txt costs at most the limit. (An
        # encoded one is then inflated to at most the limit too, in FetchedRecorder.)
        limit = self._limit.get(request)
        if limit is None:
            return
        total = self._received.get(request, 0) + len(data)
        self._received[request] = total
        if total > limit:
            raise StopDownload(fail=False)


def _max_age(response: Response) -> float | None:
    header = response.headers.get(b"Cache-Control")
    if not header:
        return None
    match = _MAX_AGE.search(header.decode("latin-1"))
    return max(MIN_MAX_AGE, float(match.group(1))) if match else None


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
