"""Which page's signals a URL inherits: filled by the spider middleware from the pages it sees,
read by the gate before the fetch. Bounded (oldest forgotten first), and kept apart from
Request.meta so that spider code cannot strip what a page said."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from polite_crawl.core.context import Kind

MAX_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class Inherited:
    directives: frozenset[str]
    kind: Kind
    page: str  # the page that said it


class SignalMemory:
    def __init__(self, limit: int = MAX_ENTRIES) -> None:
        self.limit = limit
        self._by_url: OrderedDict[str, Inherited] = OrderedDict()

    def remember(self, url: str, inherited: Inherited) -> None:
        old = self._by_url.pop(url, None)
        if old is not None:  # a URL seen on several pages keeps every page's signals
            inherited = Inherited(
                old.directives | inherited.directives,
                Kind.IMAGE if Kind.IMAGE in (old.kind, inherited.kind) else inherited.kind,
                inherited.page,
            )
        self._by_url[url] = inherited
        while len(self._by_url) > self.limit:
            self._by_url.popitem(last=False)

    def lookup(self, url: str) -> Inherited | None:
        return self._by_url.get(url)
