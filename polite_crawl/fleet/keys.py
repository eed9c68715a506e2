"""Redis key names, all under one prefix (POLITE_CRAWL_REDIS_PREFIX).

Every key about one origin's file carries the same hash tag, `{<kind>|<origin>}`, so that a
Redis Cluster keeps them in one slot and a script may touch them together. An origin
(`scheme://host:port`) holds no brace, so the tag is exactly that text.
"""

from __future__ import annotations

from typing import NamedTuple


class OriginFileKeys(NamedTuple):
    lease: str  # who is fetching the file now: a random token, with an expiry
    fence: str  # a counter, one more per lease taken: the fencing number of each fetch
    result: str  # the fetch, published for the fleet, expiring with its cache lifetime


def origin_file_keys(prefix: str, kind: str, origin: str) -> OriginFileKeys:
    if "{" in origin or "}" in origin:  # cannot happen for a parsed origin; refuse, not mangle
        raise ValueError(f"an origin with a brace: {origin!r}")
    tag = f"{prefix}:{{{kind}|{origin}}}"
    return OriginFileKeys(f"{tag}:lease", f"{tag}:fence", f"{tag}:result")
