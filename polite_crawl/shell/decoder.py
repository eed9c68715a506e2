"""An origin file's content coding undone within the parse limit (robots.txt, tdmrep.json,
ai.txt), before Scrapy's HttpCompressionMiddleware would inflate all of it (up to
DOWNLOAD_MAXSIZE, 1 GiB): the limit counts the bytes the parsers read, not the bytes on the
wire. Other responses pass unchanged."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polite_crawl.shell.crawl import CrawlComponent

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

# Next to the downloader, above HttpCompressionMiddleware (590) and every other stock
# middleware, so that it sees an origin file's body as it came.
PRIORITY = 990


class PreflightDecoder(CrawlComponent):
    def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Response:
        state = self.state
        return state.files.inflated(request, response) if state is not None else response
