"""Reading a log for verification: each line's own hash checked, its Merkle leaf hash computed
and the fields the in-order checks need extracted, in byte ranges of the file. Ranges are
independent, so a large log is read by several processes at once, and no process holds the
whole file in memory.
"""

from __future__ import annotations

import datetime
import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any, NamedTuple

from polite_crawl.audit.merkle import leaf_hash
from polite_crawl.audit.record import VERSION, RecordError, decode

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

CHUNK = 8 << 20  # bytes per range
PARALLEL_FROM = 32 << 20  # smaller logs are read in this process


class Fields(NamedTuple):
    """What the in-order checks need of one line, as plain values (cheap to send between
    processes). digest is None when the line itself is broken; error then says why."""

    digest: str | None
    leaf: bytes | None
    error: str | None
    log: str | None
    seq: Any
    prev: Any
    kind: Any
    ts: float | None  # decisions only
    url: str | None  # decisions and fetched
    lets_go: bool  # a decision that lets the request go (allow, or not enforced)
    decision: str | None
    robots_url: str | None  # decision: the robots.txt it cites; preflight: the one fetched
    robots_sha: str | None
    fetched_at: float | None  # preflight only
    platform: tuple[Any] | None  # (the record's platform field,) when it has one
    policy_sha: str | None  # decision: the sha256 of the policy file it applied
    counts: Any  # run.end: the counts it states
    fallback: bool  # decision: rests on a last good robots.txt while the file is unreachable


def _broken(message: str) -> tuple[Any, ...]:
    return (None, None, message, *_NOTHING)


_NOTHING = (None,) * 6 + (False,) + (None,) * 7 + (False,)  # the fields after error


def _fields(line: bytes) -> tuple[Any, ...]:
    """The Fields of one line, as a plain tuple: tuples cross the process boundary several times
    faster than objects, and a NamedTuple would be copied into one first."""
    try:
        record, digest = decode(line)
        return _extract(line, record, digest)
    except RecordError as exc:
        return _broken(str(exc))
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:
        # OverflowError: an integer too large for a float (a forged fetched_at of 10**400).
        return _broken(f"a field has the wrong type ({exc})")


def _extract(line: bytes, record: dict[str, Any], digest: str) -> tuple[Any, ...]:
    version = record.get("v")
    if version != VERSION or type(version) is not int:
        return _broken(f"format version {version!r}, not {VERSION}")
    kind = record.get("type")
    if type(kind) is not str:
        kind = str(kind)  # counted by its text, as the writer counts it (run.end)
    ts = url = decision = robots_url = robots_sha = fetched_at = policy_sha = counts = None
    lets_go = fallback = False
    seq = record.get("seq")
    if type(seq) is not int:
        return _broken(f"seq {seq!r} is not an integer")
    if kind == "decision":
        url, decision = record.get("url"), record.get("decision")
        if type(url) is not str:
            return _broken("a decision without a url string")
        if type(decision) is not str:
            decision = str(decision)
        lets_go = decision == "allow" or record.get("enforced") is False
        evidence = record.get("evidence") or {}
        robots = evidence.get("robots")
        if isinstance(robots, dict) and robots.get("sha256") is not None:
            robots_url, robots_sha = robots.get("robots_url"), robots.get("sha256")
            if type(robots_url) is not str or type(robots_sha) is not str:
                return _broken("the robots.txt a decision cites has no url or sha256 string")
            fallback = robots.get("unreachable_since") is not None
            ts = _epoch(record.get("ts"))
        tos = evidence.get("tos")
        if isinstance(tos, dict) and tos.get("policy_sha256") is not None:
            policy_sha = str(tos["policy_sha256"])
    elif kind == "run.end":
        counts = record.get("counts")
    elif kind == "preflight":
        # Every origin file's body is evidence (robots_sha); only a robots.txt one is what
        # decisions' R2 age is measured from (robots_url, fetched_at).
        ev = record.get("evidence") or {}
        robots_sha = ev.get("sha256")
        if type(robots_sha) is not str:
            return _broken("a preflight without a sha256 string")
        if record.get("kind") == "robots":
            robots_url = ev.get("robots_url")
            at: Any = ev.get("fetched_at")
            if type(at) not in (int, float) or not math.isfinite(at):
                return _broken("a robots.txt preflight whose fetched_at is not a number")
            if type(robots_url) is not str:
                return _broken("a robots.txt preflight without a url string")
            fetched_at = float(at)
    elif kind == "fetched":
        url = record.get("url")
        if type(url) is not str:
            return _broken("a fetched record without a url string")
    return (
        digest,
        leaf_hash(line),
        None,
        record.get("log"),
        record.get("seq"),
        record.get("prev"),
        kind,
        ts,
        url,
        lets_go,
        decision,
        robots_url,
        robots_sha,
        fetched_at,
        (record["platform"],) if "platform" in record else None,
        policy_sha,
        counts,
        fallback,
    )


def _epoch(value: Any) -> float:
    text = str(value)
    if not text.endswith("Z"):
        return float("inf")  # a time without its zone could be any: never shown fresh
    try:
        return datetime.datetime.fromisoformat(text[:-1] + "+00:00").timestamp()
    except ValueError:
        return float("inf")  # an unreadable time can never be shown fresh


def parse_range(path: str, start: int, end: int) -> list[tuple[Any, ...]]:
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(end - start)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline that ends the last line
    return [_fields(line) for line in lines]


def _ranges(path: Path, size: int) -> list[tuple[int, int]]:
    """Byte ranges that end just after a newline."""
    ranges, start = [], 0
    with open(path, "rb") as fh:
        while start < size:
            end = min(size, start + CHUNK)
            if end < size:
                fh.seek(end)
                rest = fh.readline()
                end += len(rest)
            ranges.append((start, end))
            start = end
    return ranges


def parsed_lines(path: Path, size: int) -> Iterator[Fields]:
    ranges = _ranges(path, size)
    workers = min(os.cpu_count() or 1, 4)
    if (
        size < PARALLEL_FROM
        or workers < 2
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        for start, end in ranges:
            yield from map(Fields._make, parse_range(str(path), start, end))
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        for chunk in pool.map(parse_range, [str(path)] * len(ranges), *zip(*ranges, strict=True)):
            yield from map(Fields._make, chunk)
