"""Step 4 of a request: every response the engine receives is recorded (`fetched`), next to the
downloader, so that the log shows what was actually fetched, redirects and cached answers
included. The verifier checks that each one follows an allow decision. (Preflights are logged
as their preflight record.)"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from polite_crawl.audit.logfile import AuditError
from polite_crawl.shell import records
from polite_crawl.shell.crawl import CrawlComponent

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

PRIORITY = 960  # after HttpCache (900): every response, cached or downloaded, passes here


class FetchedRecorder(CrawlComponent):
    def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Response:
        state = self.state
        if state is None or state.files.owns(request):
            return response
        # A failure here has already closed the crawl; nothing more is sent.
        with contextlib.suppress(AuditError):
            state.audit.write_soon(
                state.platform_of(request.url), records.fetched(request.url, response)
            )
        return response
