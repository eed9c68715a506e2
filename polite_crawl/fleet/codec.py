"""An origin-file fetch as a Redis hash, and back: what one worker fetched, for the others.

Read back as untrusted input: a hash another program wrote, or a damaged one, must not become a
robots.txt that allows. Every field is checked; anything unusable is a FleetError naming the key
and the field, and the request waiting on it is refused.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from polite_crawl.fleet.errors import FleetError
from polite_crawl.origin.fetch import FetchResult

MAX_HOPS = 64


class Published(NamedTuple):
    result: FetchResult
    fence: int  # the fencing number of the lease it was fetched under
    worker: str  # who fetched it (informative)


def encode(result: FetchResult, fence: int, worker: str) -> dict[str, bytes]:
    def text(value: object) -> bytes:
        return b"" if value is None else str(value).encode()

    return {
        "robots_url": text(result.robots_url),
        "final_url": text(result.final_url),
        "status": text(result.status),
        "body": result.body,
        "error": text(result.error),
        "hops": text(result.hops),
        "max_age": b"" if result.max_age is None else repr(float(result.max_age)).encode(),
        "fetched_at": repr(float(result.fetched_at)).encode(),
        "fence": text(fence),
        "worker": worker.encode(),
    }


def _text(fields: dict[bytes, bytes], name: str, key: str) -> str:
    value = fields.get(name.encode())
    if value is None:
        raise FleetError(f"{key}: no {name!r} field")
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise FleetError(f"{key}: field {name!r} is not UTF-8") from None


def _number(text: str, name: str, key: str, *, integer: bool) -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise FleetError(f"{key}: field {name!r} = {text[:40]!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise FleetError(f"{key}: field {name!r} = {text[:40]!r} is out of range")
    return value


def decode(fields: dict[bytes, bytes], key: str, *, url: str, limit: int) -> Published:
    """The fetch published under `key` for the file at `url`, read at most `limit` bytes."""
    robots_url = _text(fields, "robots_url", key)
    if robots_url != url:
        raise FleetError(f"{key}: holds the fetch of {robots_url[:200]!r}, not of {url!r}")
    status_text = _text(fields, "status", key)
    status = None
    if status_text:
        status = int(_number(status_text, "status", key, integer=True))
        if not 100 <= status <= 599:
            raise FleetError(f"{key}: field 'status' = {status} is not an HTTP status")
    body = fields.get(b"body", b"")
    if len(body) > limit:
        raise FleetError(f"{key}: a body of {len(body)} bytes, over the {limit}-byte limit")
    error = _text(fields, "error", key) or None
    if status is None and error is None:
        raise FleetError(f"{key}: neither a status nor an error")
    hops = int(_number(_text(fields, "hops", key), "hops", key, integer=True))
    if hops > MAX_HOPS:
        raise FleetError(f"{key}: field 'hops' = {hops} is out of range")
    max_age_text = _text(fields, "max_age", key)
    max_age = _number(max_age_text, "max_age", key, integer=False) if max_age_text else None
    fetched_at = _number(_text(fields, "fetched_at", key), "fetched_at", key, integer=False)
    fence = int(_number(_text(fields, "fence", key), "fence", key, integer=True))
    result = FetchResult(
        robots_url,
        _text(fields, "final_url", key),
        status,
        body,
        error=error,
        hops=hops,
        max_age=max_age,
        fetched_at=fetched_at,
    )
    return Published(result, fence, _text(fields, "worker", key)[:200])
