"""Signed heads over all the logs of an audit directory (docs/format.md §5).

A head lists the commitment (sha256 of the checkpoint body) of every log's latest checkpoint, so
that cutting one log back, or deleting it, while keeping the others shows; and it names no log,
so an export can carry all the heads without telling a platform about the others.

    <operator>/polite-crawl/head
    <n>
    <sha256 of the previous head's body, or 64 zeros>
    <time>
    <commitment>            (sorted, one per log)

`heads.log` holds one JSON line per head, {"n": n, "note": signed note}, appended with one
write() and an fsync. A crash can leave its last line unfinished: that head was never complete,
and the next store cuts it off before writing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from polite_crawl.audit.logfile import CHECKPOINTS, AuditError, append_note, cut_torn_tail
from polite_crawl.audit.note import (
    NoteError,
    commitment,
    is_decimal,
    note_text,
    open_text,
    sign_text,
)

if TYPE_CHECKING:
    from pathlib import Path

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HEADS = "heads.log"
HEAD_SUFFIX = "/polite-crawl/head"
GENESIS = "0" * 64
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class Head:
    origin: str
    n: int
    prev: str
    time: str
    commitments: tuple[str, ...]

    def body(self) -> str:
        return "".join(
            f"{line}\n" for line in (self.origin, self.n, self.prev, self.time, *self.commitments)
        )


def _is_hex64(text: str) -> bool:
    return len(text) == 64 and _HEX.issuperset(text)


def parse_head(text: str) -> Head:
    """A head's body, checked for shape (not for its place in the chain)."""
    lines = text.split("\n")
    if len(lines) < 6 or lines[-1]:
        raise NoteError("not a head (origin, number, previous, time, commitments)")
    origin, number, prev, time, *commitments = lines[:-1]
    if not origin.endswith(HEAD_SUFFIX):
        raise NoteError(f"not a head: its origin {origin!r} does not end with {HEAD_SUFFIX}")
    if not is_decimal(number) or not _is_hex64(prev):
        raise NoteError("not a head: bad number or previous-head hash")
    if not all(_is_hex64(c) for c in commitments) or commitments != sorted(set(commitments)):
        raise NoteError("not a head: commitments must be distinct sha256 hex, sorted")
    return Head(origin, int(number), prev, time, tuple(commitments))


def open_head(note: str, public: bytes) -> Head:
    """Verify a head against the operator's key (its key name is its own origin)."""
    text = note_text(note)
    return parse_head(open_text(note, text.split("\n", 1)[0], public))


def body_hash(head: Head) -> str:
    return hashlib.sha256(head.body().encode()).hexdigest()


def scan_commitments(logs: Path) -> dict[str, list[str]]:
    """platform -> the commitments of its checkpoints, oldest first, read from each log's
    checkpoints.log (the store's own files: signatures are checked by the verifier)."""
    found: dict[str, list[str]] = {}
    if not logs.is_dir():
        return found
    for directory in sorted(logs.iterdir()):
        path = directory / CHECKPOINTS
        if not path.is_file():
            continue
        listed = found.setdefault(directory.name, [])
        for raw in path.read_bytes().splitlines():
            try:
                listed.append(commitment(note_text(str(json.loads(raw)["note"]))))
            except (ValueError, KeyError, TypeError, NoteError, RecursionError):
                continue  # a damaged line: the log itself refuses to open (logfile.py)
    return found


class HeadLog:
    """The writer's side of heads.log: the last head, and signing the next one."""

    def __init__(self, directory: Path, key: Ed25519PrivateKey, origin: str) -> None:
        self.path = directory / HEADS
        self.key = key
        self.origin = origin  # replaced by the first head's: a directory keeps its head origin
        self.last: Head | None = None
        cut_torn_tail(self.path)  # a head whose write a crash interrupted was never complete
        try:
            data = self.path.read_bytes() if self.path.exists() else b""
        except OSError as exc:
            raise AuditError(exc.errno, f"cannot read {self.path}: {exc.strerror}") from None
        end = len(data)
        if end:
            last = data[:end].rsplit(b"\n", 2)[-2]
            public = key.public_key().public_bytes_raw()
            try:
                entry = json.loads(last)
                self.last = open_head(str(entry["note"]), public)
            except (ValueError, KeyError, TypeError, NoteError, RecursionError) as exc:
                raise AuditError(
                    0,
                    f"{self.path}: the last head is damaged or not ours ({exc}); refusing to sign",
                ) from None
            self.origin = self.last.origin

    def check(self, known: dict[str, list[str]]) -> None:
        """Refuse to sign over a directory that lost what the last head committed to: a log cut
        back below, or deleted since, its checkpoint in the last head."""
        if self.last is None:
            return
        present = {c for listed in known.values() for c in listed}
        missing = [c for c in self.last.commitments if c not in present]
        if missing:
            raise AuditError(
                0,
                f"{self.path}: head {self.last.n} commits to a checkpoint (sha256 "
                f"{missing[0][:16]}...) that no log here holds: a log was deleted or cut back "
                "since; refusing to sign over it (run polite-crawl audit verify)",
            )

    def sign(self, latest: dict[str, str], time: str) -> bool:
        """Append a head over these commitments (platform -> latest checkpoint's), unless the
        last head says the same. Returns whether one was written."""
        commitments = tuple(sorted(set(latest.values())))
        if not commitments or (self.last is not None and self.last.commitments == commitments):
            return False
        if self.last is None:
            head = Head(self.origin, 0, GENESIS, time, commitments)
        else:
            previous = self.last
            time = max(time, previous.time)  # a clock stepped back never makes heads go back
            head = Head(self.origin, previous.n + 1, body_hash(previous), time, commitments)
        note = sign_text(head.body(), head.origin, self.key)
        append_note(self.path, {"n": head.n, "note": note})
        self.last = head
        return True
