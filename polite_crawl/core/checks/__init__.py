"""One module per check. Each is small, synchronous and Scrapy-free."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from polite_crawl.core.context import RequestContext


class OfflineCheck:
    """A check that needs no preflight: it can always answer at once."""

    name = "offline"
    network = False

    def pending(self, ctx: RequestContext) -> tuple[str, ...]:
        return ()
