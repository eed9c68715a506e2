"""Step 4 of a request, next to the downloader: every response the engine receives passes here
first. Ours (an origin file: robots.txt, tdmrep.json, ai.txt) has its content coding undone
within the parse limit, before Scrapy's HttpCompressionMiddleware would inflate all of it (up
to DOWNLOAD_MAXSIZE, 1 GiB): the limit counts the bytes the parsers read, not the bytes on the
wire (its fetch is logged as its `preflight` record). Every other one is recorded (`fetched`),
so that the log shows what was actually fetched, redirects and cached answers included; the
verifier checks that each one follows an allow decision.

One middleware for both, not two: each layer costs every response Scrapy's per-middleware
call (#21)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from polite_crawl.audit.logfile import AuditError
from polite_crawl.shell import records
from polite_crawl.shell.crawl import CrawlComponent

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

# Above HttpCache (900), HttpCompressionMiddleware (590) and every other stock middleware: it
# sees every response, cached or downloaded, and an origin file's body as it came.
PRIORITY = 990


class FetchedRecorder(CrawlComponent):
    def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Response:
        state = self.state
        if state is None:
            return response
        files = state.files
        if files.owns(request):
            return files.inflated(request, response)
        # A failure here has already closed the crawl; nothing more is sent.
        with contextlib.suppress(AuditError):
            state.audit.write_soon(
                state.platform_of(request.url), records.fetched(request.url, response)
            )
        return response
