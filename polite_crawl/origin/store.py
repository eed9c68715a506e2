"""What one fetch of an origin-level file means for its origin, and the per-origin cache.

RFC 9309 (§2.3.1, §2.4) defines the states and lifetimes for robots.txt; the same states,
cache lifetimes and backoff serve every origin-level file we read before crawling (robots.txt,
/.well-known/tdmrep.json, /ai.txt): only how a 2xx body is read differs (the `read` a store is
given, e.g. robots/reader.py).

    2xx                                  -> PARSED: follow the rules
    4xx except 429 (incl. 401/403/404)   -> UNAVAILABLE: everything allowed (§2.3.1.3)
    429, 5xx, network error, timeout,    -> UNREACHABLE: complete disallow (§2.3.1.4),
    more than 5 redirects, redirect loop    retried later with backoff

While an origin is unreachable, an earlier good copy (PARSED or UNAVAILABLE) stays in force.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import TYPE_CHECKING, Generic

from polite_crawl.origin.compact import Doc, Library, Read, digest_of
from polite_crawl.origin.entry import Entry, FileState
from polite_crawl.origin.fetch import FetchResult
from polite_crawl.origin.pins import Pins

if TYPE_CHECKING:
    from collections.abc import Callable

    from polite_crawl.core.context import Origin
    from polite_crawl.origin.disk import OriginDiskCache

__all__ = [
    "DEFAULT_MAX_ORIGINS",
    "MAX_REDIRECTS",
    "MAX_TTL",
    "Doc",
    "Entry",
    "FetchResult",
    "FileState",
    "OriginStore",
    "Pins",
    "Read",
    "classify_with",
]

MAX_TTL = 24 * 3600.0  # RFC 9309 §2.4: SHOULD NOT use a cached copy for more than 24 hours
MAX_REDIRECTS = 5  # §2.3.1.2: follow at least five; more is treated as unreachable (see docs)
# §2.3.1.4 lets a crawler keep using a cached copy while robots.txt is unreachable. We do so, for
# every origin file, for a week at most, and never when the site answered 429: that asks us to
# slow down, not go on.
MAX_FALLBACK_AGE = 7 * 24 * 3600.0
# Origins cached per file (POLITE_CRAWL_ORIGIN_CACHE_SIZE): about 50 MB for robots.txt at the
# measured cost per origin (docs/benchmarks.md).
DEFAULT_MAX_ORIGINS = 100_000


def lifetime_of(
    result: FetchResult,
    *,
    ttl: float = MAX_TTL,
    failures: int = 0,
    backoff: float = 60.0,
    max_backoff: float = 3600.0,
) -> float:
    """Seconds the entry a fetch makes stays in force (from its fetched_at): RFC 9309's cache
    lifetime for an answer, the backoff for an unreachable file."""
    status = result.status
    if result.error is None and status is not None:
        if 200 <= status < 300:
            return min(ttl, result.max_age) if result.max_age is not None else ttl
        if 400 <= status < 500 and status != 429:
            return ttl
    return min(max_backoff, backoff * 2.0**failures)


def classify_with(
    result: FetchResult,
    library: Library[Doc],
    *,
    ttl: float = MAX_TTL,
    failures: int = 0,
    backoff: float = 60.0,
    max_backoff: float = 3600.0,
) -> Entry[Doc]:
    status = _STATUSES.get(status, status) if (status := result.status) is not None else None
    final_url = None if result.final_url == result.robots_url else result.final_url
    content = None
    ok = result.error is None and status is not None
    if ok and status is not None and 200 <= status < 300:
        content = library.intern(result.body, digest_of(result.body))
        digest = content.digest  # one digest object for all origins that share the content
    else:
        digest = digest_of(result.body)
    fetched = (result.robots_url, final_url, status, result.error, result.fetched_at, digest)
    life = lifetime_of(
        result, ttl=ttl, failures=failures, backoff=backoff, max_backoff=max_backoff
    )
    if content is not None:
        return Entry(FileState.PARSED, *fetched, result.fetched_at + life, content)
    if ok and status is not None and 400 <= status < 500 and status != 429:
        return Entry(FileState.UNAVAILABLE, *fetched, result.fetched_at + life)
    return Entry(FileState.UNREACHABLE, *fetched, result.fetched_at + life, failures=failures + 1)


# One int object per HTTP status instead of one per fetch (ints above 256 are not shared).
_STATUSES = {s: s for s in range(100, 600)}


class OriginStore(Generic[Doc]):
    """Per-origin entries for one origin-level file, keyed by scheme + host + port (never by
    host alone), bounded to `max_origins`, least recently used out first.

    Evicting an origin forgets it: the next request for it is undecided again, and a new
    preflight (or the disk cache) supplies a fresh entry. Never evicted: the origin just
    recorded or read, and origins held while requests wait for their preflight (`Pins`); the
    store may exceed its bound by those until its next record."""

    def __init__(
        self,
        path: str,
        read: Callable[[bytes, int], Read[Doc]],
        *,
        limit: int,  # bytes read of each file (POLITE_CRAWL_ROBOTS_PARSE_LIMIT serves all)
        ttl: float = MAX_TTL,
        backoff: float = 60.0,
        clock: Callable[[], float],
        disk: OriginDiskCache | None = None,
        max_origins: int = DEFAULT_MAX_ORIGINS,
        pins: Pins | None = None,
    ) -> None:
        if max_origins < 1:
            raise ValueError("max_origins must be at least 1")
        self.path = path  # where the file lives on every origin, e.g. /robots.txt
        self.limit = limit
        self.ttl = min(ttl, MAX_TTL)
        self.backoff = backoff
        self.clock = clock
        self.disk = disk
        self.max_origins = max_origins
        self.pins = pins if pins is not None else Pins()
        self.library = Library(read, limit)
        self.evictions = 0
        self._entries: OrderedDict[Origin, Entry[Doc]] = OrderedDict()

    def _disk_key(self, origin: Origin) -> str:
        # robots.txt rows are keyed by origin alone (caches written by earlier versions).
        return str(origin) if self.path == "/robots.txt" else origin.url(self.path)

    def get(self, origin: Origin) -> Entry[Doc] | None:
        """The entry in force, or None when it is missing or expired (a preflight is due)."""
        entry = self._entries.get(origin)
        if entry is not None:
            self._entries.move_to_end(origin)
        elif self.disk is not None:
            stored = self.disk.load(self._disk_key(origin))
            if stored is not None:
                entry = self._classify(stored, 0)
                self._put(origin, entry)
        if entry is None or entry.expires_at <= self.clock():
            return None
        return entry

    def record(self, origin: Origin, result: FetchResult) -> Entry[Doc]:
        previous = self._entries.get(origin)
        failures = previous.failures if previous else 0
        entry = self._classify(result, failures)
        if entry.state is FileState.UNREACHABLE:
            good = None
            if previous is not None:
                good = previous.fallback if previous.state is FileState.UNREACHABLE else previous
            if good is not None and result.fetched_at - good.fetched_at <= MAX_FALLBACK_AGE:
                entry = _with_fallback(entry, good, usable=result.status != 429)
        elif self.disk is not None:  # only answers actually received are kept across runs
            self.disk.save(self._disk_key(origin), result)
        self._put(origin, entry)
        return entry

    def _put(self, origin: Origin, entry: Entry[Doc]) -> None:
        previous = self._entries.pop(origin, None)
        self._entries[origin] = entry
        for content in entry.contents():
            self.library.retain(content)
        if previous is not None:
            self._forget(previous)
        self._trim(origin)

    def _trim(self, keep: Origin) -> None:
        """Evict down to the bound, least recently used first, never `keep` (the origin being
        recorded or read) nor a held one."""
        entries = self._entries
        passed = 0  # held origins moved aside; once all were, the bound waits for a release
        while len(entries) > self.max_origins and passed < len(entries):
            oldest = next(iter(entries))
            if oldest == keep or oldest in self.pins:
                entries.move_to_end(oldest)
                passed += 1
                continue
            self._forget(entries.pop(oldest))
            self.evictions += 1

    def _forget(self, entry: Entry[Doc]) -> None:
        for content in entry.contents():
            self.library.release(content)

    def lifetime(self, result: FetchResult) -> float:
        """How long the entry `result` would make stays in force, as `record` would classify
        it (the failures counted so far are this process's; the fleet shares fresh fetches)."""
        return lifetime_of(result, ttl=self.ttl, backoff=self.backoff)

    def _classify(self, result: FetchResult, failures: int) -> Entry[Doc]:
        return classify_with(
            result, self.library, ttl=self.ttl, failures=failures, backoff=self.backoff
        )

    def __len__(self) -> int:
        return len(self._entries)


def _with_fallback(entry: Entry[Doc], good: Entry[Doc], *, usable: bool) -> Entry[Doc]:
    return replace(entry, fallback=good, fallback_usable=usable)
