"""A small on-disk store of origin-file fetches (robots.txt, tdmrep.json, ai.txt; stdlib
sqlite3), so that a restarted crawl does not fetch thousands of them again. Only answers that
were actually received are kept (2xx and 4xx); an unreachable origin is always asked again.

The table is still named `robots` and robots.txt rows are keyed by origin alone, as when
robots.txt was the only file kept: caches written by earlier versions stay readable."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from polite_crawl.origin.fetch import FetchResult

if TYPE_CHECKING:
    from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS robots (
    origin TEXT PRIMARY KEY,
    robots_url TEXT NOT NULL,
    final_url TEXT NOT NULL,
    status INTEGER NOT NULL,
    body BLOB NOT NULL,
    hops INTEGER NOT NULL,
    max_age REAL,
    fetched_at REAL NOT NULL
)
"""


class OriginCacheError(ValueError):
    pass


class OriginDiskCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute(_SCHEMA)
            self._db.execute("SELECT origin, status FROM robots LIMIT 1").fetchall()
        except (sqlite3.Error, OSError) as exc:
            raise OriginCacheError(f"{path}: not a usable robots.txt cache ({exc})") from None

    def load(self, key: str) -> FetchResult | None:
        """key: the origin for robots.txt, the file's URL for other origin-level files."""
        try:
            row = self._db.execute(
                "SELECT robots_url, final_url, status, body, hops, max_age, fetched_at "
                "FROM robots WHERE origin = ?",
                (key,),
            ).fetchone()
        except sqlite3.Error:
            return None  # a damaged row is a cache miss: the file is fetched again
        if row is None:
            return None
        robots_url, final_url, status, body, hops, max_age, fetched_at = row
        if not isinstance(body, bytes) or not isinstance(status, int):
            return None
        return FetchResult(
            robots_url,
            final_url,
            status,
            body,
            hops=hops,
            max_age=max_age,
            fetched_at=float(fetched_at),
        )

    def save(self, key: str, result: FetchResult) -> None:
        if result.status is None or result.error is not None:
            return
        self._db.execute(
            "INSERT OR REPLACE INTO robots VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                result.robots_url,
                result.final_url,
                result.status,
                result.body,
                result.hops,
                result.max_age,
                result.fetched_at,
            ),
        )

    def close(self) -> None:
        self._db.close()
