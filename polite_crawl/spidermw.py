"""The spider middleware: tells the gate where each request came from. Requests a page yields
inherit that page's opt-out signals (X-Robots-Tag headers, robots meta tags), and URLs among
its images (or in an item's image_urls/file_urls) are marked as images or files, so that the
gate can refuse them before they are fetched. A `nofollow` page's links are not followed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter, is_item
from scrapy import Request
from scrapy.http import TextResponse

from polite_crawl.core.context import Kind
from polite_crawl.locate import gate_of
from polite_crawl.signals.memory import Inherited
from polite_crawl.signals.robots_tag import directives, meta_directives

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

    from scrapy.crawler import Crawler
    from scrapy.http import Response

    # typing.Self requires Python 3.11
    from typing_extensions import Self

    from polite_crawl.middlewares import PoliteDownloaderMiddleware

logger = logging.getLogger(__name__)
VIA_META = "polite_crawl_via"


class _Page:
    """What one response says about the requests it yields."""

    def __init__(self, response: Response, token: str) -> None:
        self.url = response.url
        headers = [v.decode("latin-1") for v in response.headers.getlist(b"X-Robots-Tag")]
        found = directives(headers, token)
        self.images: set[str] = set()
        if (
            isinstance(response, TextResponse)
            and b"html" in (response.headers.get(b"Content-Type") or b"html").lower()
        ):
            found |= meta_directives(response.body, token)
            if found:
                self.images = {
                    response.urljoin(src) for src in response.css("img::attr(src)").getall()
                }
        self.directives = found

    def inherited(self, url: str, kind: Kind | None = None) -> Inherited:
        kind = kind or (Kind.IMAGE if url in self.images else Kind.PAGE)
        return Inherited(self.directives, kind, self.url)


class PoliteSpiderMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._gate: PoliteDownloaderMiddleware | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _find_gate(self) -> PoliteDownloaderMiddleware | None:
        if self._gate is None:
            self._gate = gate_of(self.crawler)
        return self._gate

    def process_spider_output(
        self, response: Response, result: Iterable[Any], spider: Any = None
    ) -> Iterable[Any]:
        page = self._page(response)
        for item in result:
            if self._keep(page, response, item):
                yield item

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any], spider: Any = None
    ) -> AsyncIterator[Any]:
        page = self._page(response)
        async for item in result:
            if self._keep(page, response, item):
                yield item

    def _page(self, response: Response) -> _Page | None:
        gate = self._find_gate()
        return _Page(response, gate.config.token) if gate is not None else None

    def _keep(self, page: _Page | None, response: Response, item: Any) -> bool:
        gate = self._gate
        if isinstance(item, Request):
            item.meta.setdefault(VIA_META, response.url)
            if page is None or gate is None or not page.directives:
                return True
            inherited = page.inherited(item.url)
            if "nofollow" in page.directives and inherited.kind is Kind.PAGE:
                gate.stats.inc_value("polite_crawl/nofollow/dropped")
                logger.debug(
                    "polite_crawl: not following %(url)s: %(page)s says nofollow",
                    {"url": item.url, "page": response.url},
                )
                return False
            gate.memory.remember(item.url, inherited)
        elif page is not None and gate is not None and page.directives and is_item(item):
            # The stock Images/FilesPipeline fetch these: they carry the page's signals too.
            adapter = ItemAdapter(item)
            for field, kind in (("image_urls", Kind.IMAGE), ("file_urls", Kind.FILE)):
                for url in adapter.get(field) or ():
                    gate.memory.remember(response.urljoin(url), page.inherited(url, kind))
        return True
