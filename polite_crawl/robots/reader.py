"""robots.txt read for the origin store: a 2xx body becomes the rules for one product token.

The store (origin/store.py) knows nothing of robots.txt's grammar; this is what it is handed
for robots.txt and ai.txt (which shares the syntax), plus the shortcuts the tests and
benchmarks use to build a robots.txt store or entry directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polite_crawl.origin.compact import Library, Read
from polite_crawl.origin.entry import Entry
from polite_crawl.origin.store import MAX_TTL, OriginStore, classify_with
from polite_crawl.robots.parser import DEFAULT_PARSE_LIMIT, parse
from polite_crawl.robots.rules import Rules

if TYPE_CHECKING:
    from collections.abc import Callable

    from polite_crawl.origin.fetch import FetchResult

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
        Library(robots_reader(token), limit),
        ttl=ttl,
        failures=failures,
        backoff=backoff,
        max_backoff=max_backoff,
    )


class RobotsStore(OriginStore[Rules]):
    """robots.txt entries, read for one product token (options: those of OriginStore)."""

    def __init__(self, token: str, *, limit: int = DEFAULT_PARSE_LIMIT, **options: Any) -> None:
        super().__init__("/robots.txt", robots_reader(token), limit=limit, **options)
        self.token = token
