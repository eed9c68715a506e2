"""What one robots.txt fetch means for an origin (RFC 9309 §2.3.1, §2.4), and the cache.

The same states, cache lifetimes and backoff serve every origin-level file we read before
crawling (robots.txt, /.well-known/tdmrep.json, /ai.txt): only how a 2xx body is read differs.

    2xx                                  -> PARSED: follow the rules
    4xx except 429 (incl. 401/403/404)   -> UNAVAILABLE: everything allowed (§2.3.1.3)
    429, 5xx, network error, timeout,    -> UNREACHABLE: complete disallow (§2.3.1.4),
    more than 5 redirects, redirect loop    retried later with backoff

While an origin is unreachable, an earlier good copy (PARSED or UNAVAILABLE) stays in force.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from polite_crawl.robots.parser import DEFAULT_PARSE_LIMIT, parse
from polite_crawl.robots.rules import Rules

if TYPE_CHECKING:
    from collections.abc import Callable

    from polite_crawl.core.context import Origin
    from polite_crawl.robots.persist import RobotsDiskCache

Doc = TypeVar("Doc")

MAX_TTL = 24 * 3600.0  # RFC 9309 §2.4: SHOULD NOT use a cached copy for more than 24 hours
MAX_REDIRECTS = 5  # §2.3.1.2: follow at least five; more is treated as unreachable (see docs)
# §2.3.1.4 lets a crawler keep using a cached copy while robots.txt is unreachable. We do so for
# a week at most, and never when the site answered 429: that asks us to slow down, not go on.
MAX_FALLBACK_AGE = 7 * 24 * 3600.0


class RobotsState(str, Enum):
    PARSED = "parsed"
    UNAVAILABLE = "unavailable"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What the Scrapy shell saw when it fetched robots.txt (after following redirects)."""

    robots_url: str
    final_url: str
    status: int | None  # None: no HTTP answer at all
    body: bytes = b""
    error: str | None = None  # network error, timeout, redirect loop, too many hops
    hops: int = 0
    max_age: float | None = None  # from Cache-Control, when the server sent one
    fetched_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Read(Generic[Doc]):
    """A 2xx body, read: the document and what the reading had to give up on."""

    doc: Doc
    truncated: bool = False
    invalid_utf8: bool = False


@dataclass(frozen=True, slots=True)
class Entry(Generic[Doc]):
    state: RobotsState
    fetch: FetchResult
    sha256: str
    expires_at: float
    rules: Doc | None = None  # the file as read (PARSED only)
    truncated: bool = False
    invalid_utf8: bool = False
    failures: int = 0  # consecutive unreachable fetches, for backoff
    fallback: Entry[Doc] | None = field(default=None, repr=False)  # the last good copy
    fallback_usable: bool = True  # False while the site answers 429 (slow down)

    def in_force(self) -> Entry[Doc] | None:
        """The entry whose content governs: this one, or while the origin is unreachable its
        last good copy (None when there is none, or the site asked us to slow down)."""
        if self.state is not RobotsState.UNREACHABLE:
            return self
        return self.fallback if self.fallback_usable else None

    def evidence(self) -> dict[str, Any]:
        f = self.fetch
        ev: dict[str, Any] = {
            "robots_url": f.robots_url,
            "final_url": f.final_url,
            "status": f.status,
            "sha256": self.sha256,
            "fetched_at": f.fetched_at,
            "state": self.state.value,
        }
        if f.error:
            ev["error"] = f.error
        if self.truncated:
            ev["truncated"] = True
        return ev


RobotsEntry = Entry[Rules]


def robots_reader(token: str) -> Callable[[bytes, int], Read[Rules]]:
    def read(body: bytes, limit: int) -> Read[Rules]:
        robots = parse(body, limit)
        return Read(Rules(robots, token), robots.truncated, robots.invalid_utf8)

    return read


def classify(
    result: FetchResult,
    token: str,
    *,
    limit: int = DEFAULT_PARSE_LIMIT,
    ttl: float = MAX_TTL,
    failures: int = 0,
    backoff: float = 60.0,
    max_backoff: float = 3600.0,
) -> RobotsEntry:
    return classify_with(
        result,
        robots_reader(token),
        limit=limit,
        ttl=ttl,
        failures=failures,
        backoff=backoff,
        max_backoff=max_backoff,
    )


def classify_with(
    result: FetchResult,
    read: Callable[[bytes, int], Read[Doc]],
    *,
    limit: int = DEFAULT_PARSE_LIMIT,
    ttl: float = MAX_TTL,
    failures: int = 0,
    backoff: float = 60.0,
    max_backoff: float = 3600.0,
) -> Entry[Doc]:
    digest = hashlib.sha256(result.body).hexdigest()
    status = result.status
    if result.error is None and status is not None and 200 <= status < 300:
        done = read(result.body, limit)
        life = min(ttl, result.max_age) if result.max_age is not None else ttl
        return Entry(
            RobotsState.PARSED,
            result,
            digest,
            result.fetched_at + life,
            done.doc,
            done.truncated,
            done.invalid_utf8,
        )
    if result.error is None and status is not None and 400 <= status < 500 and status != 429:
        return Entry(RobotsState.UNAVAILABLE, result, digest, result.fetched_at + ttl)
    wait = min(max_backoff, backoff * (2**failures))
    return Entry(
        RobotsState.UNREACHABLE, result, digest, result.fetched_at + wait, failures=failures + 1
    )


class OriginStore(Generic[Doc]):
    """Per-origin entries for one origin-level file, keyed by scheme + host + port (never by
    host alone)."""

    def __init__(
        self,
        path: str,
        read: Callable[[bytes, int], Read[Doc]],
        *,
        limit: int = DEFAULT_PARSE_LIMIT,
        ttl: float = MAX_TTL,
        backoff: float = 60.0,
        clock: Callable[[], float],
        disk: RobotsDiskCache | None = None,
    ) -> None:
        self.path = path  # where the file lives on every origin, e.g. /robots.txt
        self.read = read
        self.limit = limit
        self.ttl = min(ttl, MAX_TTL)
        self.backoff = backoff
        self.clock = clock
        self.disk = disk
        self._entries: dict[Origin, Entry[Doc]] = {}

    def _disk_key(self, origin: Origin) -> str:
        # robots.txt rows are keyed by origin alone (caches written by earlier versions).
        return str(origin) if self.path == "/robots.txt" else origin.url(self.path)

    def get(self, origin: Origin) -> Entry[Doc] | None:
        """The entry in force, or None when it is missing or expired (a preflight is due)."""
        entry = self._entries.get(origin)
        if entry is None and self.disk is not None:
            stored = self.disk.load(self._disk_key(origin))
            if stored is not None:
                entry = self._classify(stored, 0)
                self._entries[origin] = entry
        if entry is None or entry.expires_at <= self.clock():
            return None
        return entry

    def record(self, origin: Origin, result: FetchResult) -> Entry[Doc]:
        previous = self._entries.get(origin)
        failures = previous.failures if previous else 0
        entry = self._classify(result, failures)
        if entry.state is RobotsState.UNREACHABLE:
            good = None
            if previous is not None:
                good = previous.fallback if previous.state is RobotsState.UNREACHABLE else previous
            if good is not None and result.fetched_at - good.fetch.fetched_at <= MAX_FALLBACK_AGE:
                entry = _with_fallback(entry, good, usable=result.status != 429)
        elif self.disk is not None:  # only answers actually received are kept across runs
            self.disk.save(self._disk_key(origin), result)
        self._entries[origin] = entry
        return entry

    def _classify(self, result: FetchResult, failures: int) -> Entry[Doc]:
        return classify_with(
            result,
            self.read,
            limit=self.limit,
            ttl=self.ttl,
            failures=failures,
            backoff=self.backoff,
        )

    def __len__(self) -> int:
        return len(self._entries)


class RobotsStore(OriginStore[Rules]):
    """robots.txt entries, read for one product token."""

    def __init__(
        self,
        token: str,
        *,
        limit: int = DEFAULT_PARSE_LIMIT,
        ttl: float = MAX_TTL,
        backoff: float = 60.0,
        clock: Callable[[], float],
        disk: RobotsDiskCache | None = None,
    ) -> None:
        super().__init__(
            "/robots.txt",
            robots_reader(token),
            limit=limit,
            ttl=ttl,
            backoff=backoff,
            clock=clock,
            disk=disk,
        )
        self.token = token


def _with_fallback(entry: Entry[Doc], good: Entry[Doc], *, usable: bool) -> Entry[Doc]:
    return Entry(
        entry.state,
        entry.fetch,
        entry.sha256,
        entry.expires_at,
        failures=entry.failures,
        fallback=good,
        fallback_usable=usable,
    )
