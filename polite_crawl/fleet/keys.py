"""Redis key names, all under one prefix (POLITE_CRAWL_REDIS_PREFIX).

Every key about one origin's file carries the same hash tag, `{<kind>|<origin>}`, and every
key pacing a host `{pace|<host>}`, so that a Redis Cluster keeps them in one slot and a script
may touch them together. An origin or a host holds no brace, so the tag is exactly that text.
"""

from __future__ import annotations

from typing import NamedTuple


class OriginFileKeys(NamedTuple):
    lease: str  # who is fetching the file now: a random token, with an expiry
    fence: str  # a counter, one more per lease taken: the fencing number of each fetch
    result: str  # the fetch, published for the fleet, expiring with its cache lifetime


def _tagged(prefix: str, kind: str, name: str) -> str:
    """`<prefix>:{<kind>|<name>}`: the start of every key about `name` (an origin or a host)."""
    if "{" in name or "}" in name:  # cannot happen for a parsed URL; refuse, not mangle
        raise ValueError(f"a name with a brace: {name!r}")
    return f"{prefix}:{{{kind}|{name}}}"


def origin_file_keys(prefix: str, kind: str, origin: str) -> OriginFileKeys:
    tag = _tagged(prefix, kind, origin)
    return OriginFileKeys(f"{tag}:lease", f"{tag}:fence", f"{tag}:result")


def pace_keys(prefix: str, host: str) -> tuple[str, str]:
    """A host's pacing keys (fleet/pace.py): whose request is in flight, and when the last one
    finished."""
    tag = _tagged(prefix, "pace", host)
    return f"{tag}:busy", f"{tag}:last"


def rate_key(prefix: str, host: str) -> str:
    """A host's fleet-wide rate (fleet/rate.py): its theoretical arrival time."""
    return f"{_tagged(prefix, 'rate', host)}:tat"
