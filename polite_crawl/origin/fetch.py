"""What one fetch of an origin file brought back, as the Scrapy shell hands it to the store.

A module of its own because the store (origin/store.py), which classifies fetches, and the
disk cache (origin/disk.py), which keeps them across runs, both need it: the store reads and
writes through the cache, so the cache must not import the store.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What the Scrapy shell saw when it fetched an origin file (after following redirects)."""

    robots_url: str  # the file's own URL (named when robots.txt was the only file; a record key)
    final_url: str
    status: int | None  # None: no HTTP answer at all
    body: bytes = b""
    error: str | None = None  # network error, timeout, redirect loop, too many hops
    hops: int = 0
    max_age: float | None = None  # from Cache-Control, when the server sent one
    fetched_at: float = 0.0
