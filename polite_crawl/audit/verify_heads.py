"""The heads of an audit directory or an export (docs/format.md §5, rules H1-H5): signed,
chained, and holding every log's latest checkpoint, so that a log deleted or cut back while the
others were kept does not verify."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from polite_crawl.audit.heads import GENESIS, Head, body_hash, open_head
from polite_crawl.audit.note import NoteError
from polite_crawl.audit.verify import Invalid

if TYPE_CHECKING:
    from pathlib import Path

    from polite_crawl.audit.verify import LogReport


def read_heads(path: Path, public: bytes) -> list[Head]:
    """Every head of a heads.log, each signed by the pinned key and chained to the one before
    (H1, H2)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise Invalid(str(path), "missing: no head signs the logs") from None
    except OSError as exc:
        raise Invalid(str(path), f"cannot read ({exc.strerror or exc})") from None
    if not data:
        raise Invalid(str(path), "empty: heads.log is created with its first head")
    if not data.endswith(b"\n"):
        lines = data.count(b"\n")
        raise Invalid(
            f"{path}:{lines + 1}",
            "torn tail: the last line is incomplete (no newline); the next crawl or an "
            "export cuts it off",
        )
    heads: list[Head] = []
    for number, raw in enumerate(data.split(b"\n")[:-1], start=1):
        where = f"{path}:{number}"
        try:
            entry = json.loads(raw.decode("utf-8"))
            head = open_head(str(entry["note"]), public)
            n = entry["n"]
            if type(n) is not int or b"\r" in raw:
                raise ValueError(f"n {n!r} is not a head number")
        except NoteError as exc:
            raise Invalid(where, f"{exc}: signed by another key, or altered") from None
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise Invalid(where, f"not a head ({exc})") from None
        expected = len(heads)
        if head.n != expected or n != expected:
            raise Invalid(where, f"head {head.n} where head {expected} was expected")
        previous = heads[-1] if heads else None
        if previous is None:
            if head.prev != GENESIS:
                raise Invalid(where, "the first head names a previous one")
        else:
            if head.origin != previous.origin:
                raise Invalid(where, f"a head of {head.origin!r}, not of {previous.origin!r}")
            if head.prev != body_hash(previous):
                raise Invalid(where, "does not follow the previous head: heads were rewritten")
            if head.time < previous.time:
                raise Invalid(where, "earlier than the head before it")
        heads.append(head)
    return heads


def check_heads(
    path: Path, reports: list[LogReport], public: bytes, *, whole_directory: bool
) -> list[Head]:
    """H3, H4 for each log; H5 too for a whole directory (an export sees only its own log)."""
    heads = read_heads(path, public)
    for report in reports:
        _check_log(path, heads, report)
    if whole_directory:
        known = {c for report in reports for _, c, _ in report.signed}
        for j, head in enumerate(heads):
            for c in head.commitments:
                if c not in known:
                    raise Invalid(
                        f"{path}:{j + 1}",
                        f"head {j} commits to a checkpoint (sha256 {c[:16]}...) that no log "
                        "here holds: a log was deleted or cut back",
                    )
    return heads


def _check_log(path: Path, heads: list[Head], report: LogReport) -> None:
    sizes = {c: size for size, c, _ in report.signed}
    seen = -1  # the size of this log the heads so far committed to
    for j, head in enumerate(heads):
        mine = [sizes[c] for c in head.commitments if c in sizes]
        if len(mine) > 1:
            raise Invalid(f"{path}:{j + 1}", f"head {j} holds {report.platform} twice")
        if not mine:
            if seen >= 0:
                raise Invalid(
                    f"{path}:{j + 1}",
                    f"head {j} no longer holds the log of {report.platform} (size {seen} "
                    "before): the log was cut back or replaced",
                )
            continue
        if mine[0] < seen:
            raise Invalid(
                f"{path}:{j + 1}",
                f"head {j} holds {report.platform} at {mine[0]} records, fewer than the "
                f"{seen} of an earlier head",
            )
        seen = mine[0]
    if report.signed and report.signed[-1][1] not in heads[-1].commitments:
        raise Invalid(
            f"{path}:{len(heads)}",
            f"the last head does not hold the last checkpoint of {report.platform} (the crawl "
            "stopped between them, or heads were cut back; polite-crawl audit seal, the next "
            "crawl or an export signs a head)",
        )
