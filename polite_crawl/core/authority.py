"""Answers that depend only on a URL's scheme and authority, remembered per authority.

A crawl asks the same few questions (which platform's log, which host's pace) about every URL of
the same few sites; each asks urlsplit first, a few microseconds per request (#21). The key is
the URL up to and including its first "/" after the first "//" (the whole URL if there is
none). urlsplit's netloc, when there is one, starts right after that first "//" (a scheme holds
no "/") and ends at the first "/", "?" or "#" after it, so the key holds the scheme, the whole
authority and the character that ends it: two URLs with the same key have the same scheme and
host as urlsplit reads them, and one without a netloc has none under its key either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")

LIMIT = 100_000  # keys remembered; then the cache starts again (a crawl of that many sites)


def authority_key(url: str) -> str:
    start = url.find("//")
    end = url.find("/", start + 2) if start >= 0 else -1
    return url[: end + 1] if end >= 0 else url


def by_authority(compute: Callable[[str], T], limit: int = LIMIT) -> Callable[[str], T]:
    """compute(url), asked once per authority key; compute must read only the scheme and
    authority of the URL it is given."""
    cache: dict[str, T] = {}

    def lookup(url: str) -> T:
        key = authority_key(url)
        try:
            return cache[key]
        except KeyError:
            pass
        if len(cache) >= limit:
            cache.clear()
        value = cache[key] = compute(url)
        return value

    return lookup
