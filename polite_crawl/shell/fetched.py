"""Records every response the engine receives (`fetched`), next to the downloader, so that
the log shows what was actually fetched, redirects and cached answers included. The verifier
checks that each one follows an allow decision."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polite_crawl.shell.crawl import GateClient

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

    # typing.Self requires Python 3.11

PRIORITY = 960  # after HttpCache (900): every response, cached or downloaded, passes here


class PoliteResponseRecorder(GateClient):
    def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Response:
        gate = self._find_gate()
        if gate is not None:
            gate.record_response(request, response)
        return response
