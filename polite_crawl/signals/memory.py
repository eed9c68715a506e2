"""Which page's signals a URL inherits: filled by the spider middleware from the pages it sees,
read by the gate before the fetch. Bounded (oldest forgotten first), and kept apart from
Request.meta so that spider code cannot strip what a page said.

Both sides go through `url_key`: a page writes `<img src="/img/a b.jpg">`, the spider middleware
joins it to `http://site/img/a b.jpg`, and the request that reaches the gate asks for
`http://site/img/a%20b.jpg` (Scrapy's `Request` escapes it; a spider or a pipeline may write the
same resource in yet another form). Keyed by the raw string, the page's opt-out would be lost."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

# w3lib is Scrapy's URL library (a dependency of Scrapy, itself free of Scrapy and Twisted).
from w3lib.url import canonicalize_url

from polite_crawl.core.purposes import Kind

MAX_ENTRIES = 100_000
_DEFAULT_PORTS = {"http": 80, "https": 443}


def url_key(url: str) -> str:
    """One key for every way of writing the same resource that a crawl may request: surrounding
    whitespace stripped, non-ASCII and unsafe characters percent-encoded (as `Request` does),
    escapes in one case and unreserved characters unescaped, query arguments sorted, the
    fragment (never sent) dropped, the host in lower case (IDNA), a default port removed.
    Two URLs that differ only there are one resource to a server, so they share their signals:
    merging more forms under one key can only make the gate stricter. Never raises."""
    try:
        key = canonicalize_url(url)
    except ValueError:  # not a URL any request could be made of: kept as written
        return url.strip()
    if ":80" in key or ":443" in key:
        parts = urlsplit(key)
        try:
            default = parts.port is not None and _DEFAULT_PORTS.get(parts.scheme) == parts.port
        except ValueError:  # a port out of range: no default port to remove
            default = False
        if default:
            key = urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]))
    return key


@dataclass(frozen=True, slots=True)
class Inherited:
    directives: frozenset[str]
    kind: Kind
    page: str  # the page that said it
    # What pages that only link to the URL said: nothing before the fetch (a linked page has
    # signals of its own), but the page's images' signals once the response shows an image.
    linked: frozenset[str] = frozenset()


def merged(old: Inherited, new: Inherited) -> Inherited:
    """Two pages' word on one URL: every signal of both (the stricter union)."""
    return Inherited(
        old.directives | new.directives,
        Kind.IMAGE if Kind.IMAGE in (old.kind, new.kind) else new.kind,
        new.page,
        old.linked | new.linked,
    )


class SignalMemory:
    def __init__(self, limit: int = MAX_ENTRIES) -> None:
        self.limit = limit
        self._by_url: OrderedDict[str, Inherited] = OrderedDict()

    def remember(self, url: str, inherited: Inherited) -> None:
        key = url_key(url)
        old = self._by_url.pop(key, None)
        if old is not None:  # a URL seen on several pages keeps every page's signals
            inherited = merged(old, inherited)
        self._by_url[key] = inherited
        while len(self._by_url) > self.limit:
            self._by_url.popitem(last=False)

    def lookup(self, url: str) -> Inherited | None:
        if not self._by_url:  # the usual crawl: no page said anything, nothing to normalise
            return None
        return self._by_url.get(url_key(url))
