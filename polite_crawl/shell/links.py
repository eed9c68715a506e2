"""The spider middleware: tells the gate where each request came from. A page's embedded
resources (its `<img>` images, and the image_urls/file_urls of its items) inherit the page's
opt-out signals (X-Robots-Tag headers, robots meta tags), so that the gate can refuse them
before they are fetched; a linked page has signals of its own, and a `nofollow` page's links
are not followed. Items of a page whose signals forbid the purposes are dropped.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter, is_item
from scrapy import Request
from scrapy.http import TextResponse

from polite_crawl.audit.logfile import AuditError
from polite_crawl.core.checks.signals import REASONS
from polite_crawl.core.purposes import Kind, Purpose
from polite_crawl.settings import setting_name
from polite_crawl.shell._compat import header_values
from polite_crawl.shell.crawl import CrawlComponent
from polite_crawl.signals.carried import CARRIED_META, combined, to_meta
from polite_crawl.signals.image_sources import SINGLE, SRCSET, image_urls
from polite_crawl.signals.mapping import TDM_RESERVED, UNREADABLE_HEAD, forbidden
from polite_crawl.signals.memory import Inherited, merged, url_key
from polite_crawl.signals.meta import head_metas
from polite_crawl.signals.robots_tag import directives
from polite_crawl.signals.tdmrep import TDM_HEADER, TDM_META, header_reservation

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from polite_crawl.shell.crawl import CrawlState

logger = logging.getLogger(__name__)
VIA_META = "polite_crawl_via"


_NONE: frozenset[str] = frozenset()


@functools.lru_cache(maxsize=8)
def _meta_names(token: str) -> frozenset[str]:
    """The meta tags a page scan reads (a crawl has one token)."""
    return frozenset({"robots", token.lower(), TDM_META})


class PageSignals:
    """What one response says about the requests it yields."""

    def __init__(self, response: Response, token: str, head_limit: int) -> None:
        self.url = response.url
        self.head_unread = False
        # Read for every page, and most send neither header and no meta tag asked for: what is
        # absent is not parsed (the parsers' answer for nothing is no directive, no
        # reservation).
        headers = response.headers
        robots = header_values(headers, b"X-Robots-Tag")
        found = directives([v.decode("latin-1") for v in robots], token) if robots else _NONE
        reserved = header_values(headers, TDM_HEADER)
        tdm = header_reservation(v.decode("latin-1") for v in reserved) if reserved else None
        self.images: set[str] = set()
        content_type = header_values(headers, b"Content-Type")  # Headers.get(): the last one
        if (
            isinstance(response, TextResponse)
            and b"html" in ((content_type[-1] if content_type else None) or b"html").lower()
        ):
            # One scan of the page's meta tags serves robots meta tags and TDMRep.
            metas, complete = head_metas(response.body, _meta_names(token), head_limit)
            if metas:
                found |= directives([c for n, c in metas if n != TDM_META], token)
            if not complete:
                # A meta tag may lie past the limit: what the page says is unknown, so it is
                # read as saying everything a page can say (fail closed).
                self.head_unread = True
                found |= {UNREADABLE_HEAD}
            # TDMRep: a meta tag supersedes the header; its absence resets nothing.
            in_page = header_reservation(c for n, c in metas if n == TDM_META) if metas else None
            tdm = tdm if in_page is None else in_page
            if found or tdm:
                # Keyed as the memory keys them: the request a spider or a pipeline makes of a
                # source is written differently (escaped, stripped, canonicalised).
                shown = image_urls(
                    (v for s in SINGLE for v in response.css(s).getall()),
                    (v for s in SRCSET for v in response.css(s).getall()),
                )
                self.images = {url_key(response.urljoin(src)) for src in shown}
        self.directives = found | {TDM_RESERVED} if tdm else found  # travels as a directive

    def inherited(self, url: str, kind: Kind = Kind.PAGE) -> Inherited:
        # What the page shows as an image is an image, whichever item field (file_urls) or
        # request asks for it: noimageai concerns it.
        if url_key(url) in self.images:
            kind = Kind.IMAGE
        return Inherited(self.directives, kind, self.url)

    def linked(self) -> Inherited:
        """For a link: nothing before its fetch, the page's signals if it turns out an image."""
        return Inherited(frozenset(), Kind.PAGE, self.url, self.directives)


class LinksMiddleware(CrawlComponent):
    """Step 1 of a request: the spider middleware between the spider and the scheduler. Each
    request a page yields is noted with the page it came from (`via`), and with what the page
    said about it (its images inherit the page's signals, kept in the crawl's memory for the
    decision); a `nofollow` page's links are dropped, and so are items whose page forbids the
    declared purposes."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._warned_head = False

    def process_spider_output(
        self, response: Response, result: Iterable[Any], spider: Any = None
    ) -> Iterable[Any]:
        state, page = self._page(response)
        for item in result:
            if self._passes(state, page, response, item):
                yield item

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any], spider: Any = None
    ) -> AsyncIterator[Any]:
        state, page = self._page(response)
        async for item in result:
            if self._passes(state, page, response, item):
                yield item

    def _page(self, response: Response) -> tuple[CrawlState | None, PageSignals | None]:
        state = self.state
        if state is None:
            return None, None
        page = PageSignals(response, state.config.token, state.settings.head_scan_limit)
        if page.head_unread:
            state.stats.inc_value("polite_crawl/head_unreadable")
            log = logger.debug if self._warned_head else logger.warning
            self._warned_head = True
            log(
                "polite_crawl: the <head> of %(url)s goes on past %(limit)d bytes "
                "(%(setting)s): its signals are unknown, so its images are refused and its "
                "items dropped for the purposes page signals concern",
                {
                    "url": response.url,
                    "limit": state.settings.head_scan_limit,
                    "setting": setting_name("head_scan_limit"),
                },
            )
        return state, page

    @staticmethod
    def _passes(
        state: CrawlState | None, page: PageSignals | None, response: Response, item: Any
    ) -> bool:
        if isinstance(item, Request):
            item.meta.setdefault(VIA_META, response.url)
            if state is None or page is None or not page.directives:
                return True
            return _follow(state, page, item)
        if state is None or page is None or not page.directives or not is_item(item):
            return True
        return _keep_item(state, page, response, item)


def _follow(state: CrawlState, page: PageSignals, request: Request) -> bool:
    """Whether a request of a page that said something is followed; what the page said about
    it is remembered for its decision."""
    inherited = page.inherited(request.url)
    if inherited.kind is not Kind.PAGE:
        _remember(state, request, inherited)  # an embedded image: the page's own
        return True
    # A linked page has signals of its own; only nofollow concerns the link. A link to an
    # image (a gallery's full-size file) is the page's image: judged as one once its response
    # shows it is (discard.py).
    if "nofollow" not in page.directives:
        _remember(state, request, page.linked())
        return True
    state.stats.inc_value("polite_crawl/nofollow/dropped")
    logger.debug(
        "polite_crawl: not following %(url)s: %(page)s says nofollow",
        {"url": request.url, "page": page.url},
    )
    return False


def _remember(state: CrawlState, request: Request, inherited: Inherited) -> None:
    """In the crawl's memory, and in the request itself (signals/carried.py): a fleet's shared
    queue or a JOBDIR takes the request where this process's memory does not go."""
    state.memory.remember(request.url, inherited)
    request.meta[CARRIED_META] = to_meta(
        request.url, state.memory.lookup(request.url) or inherited
    )


def inherited_for(state: CrawlState, request: Request) -> Inherited | None:
    """What the decision about request inherits from the pages that yielded it: about its URL,
    and about every URL a redirect led it from (RedirectMiddleware's `redirect_urls`): a page's
    image behind a redirect is still the page's image."""
    urls = [request.url]
    hops = request.meta.get("redirect_urls")
    if isinstance(hops, list):
        urls += [u for u in hops if isinstance(u, str)]
    found: Inherited | None = None
    carried = request.meta.get(CARRIED_META)
    for url in urls:
        about = combined(state.memory.lookup(url), carried, url)
        if about is not None:
            found = about if found is None else merged(found, about)
    return found


def _keep_item(state: CrawlState, page: PageSignals, response: Response, item: Any) -> bool:
    """Whether an item of a page that said something goes on to the pipelines; the files its
    image_urls/file_urls name inherit the page's signals."""
    # An item is the page's content put to use: what the page forbids, it forbids.
    hits = forbidden(page.directives, state.config.purposes, Kind.PAGE)
    if hits:
        return _drop_item(state, response.url, *hits[0])
    # The stock Images/FilesPipeline fetch these: they carry the page's signals too.
    adapter = ItemAdapter(item)
    for field, kind in (("image_urls", Kind.IMAGE), ("file_urls", Kind.FILE)):
        for url in adapter.get(field) or ():
            joined = response.urljoin(url)
            state.memory.remember(joined, page.inherited(joined, kind))
    return True


def _drop_item(state: CrawlState, page: str, directive: str, purpose: Purpose) -> bool:
    """Drop (or, in report-only mode, record and keep) an item the page's signals forbid."""
    reason = REASONS[directive].value
    with contextlib.suppress(AuditError):  # a failure has closed the crawl already
        state.audit.write_soon(
            state.platform_of(page),
            {
                "type": "item.dropped",
                "url": page,
                "reason": reason,
                "purpose": purpose.value,
                "enforced": state.enforce,
            },
        )
    if not state.enforce:
        state.stats.inc_value(f"polite_crawl/report_only/would_drop_item/{reason}")
        return True
    state.stats.inc_value(f"polite_crawl/items_dropped/{reason}")
    logger.info(
        "polite_crawl: dropped an item of %(page)s: the page says %(directive)s "
        "and the crawl is for %(purpose)s",
        {"page": page, "directive": directive, "purpose": purpose.value},
    )
    return False


# The class path projects list by hand (polite_crawl.middlewares re-exports it).
PoliteSpiderMiddleware = LinksMiddleware
