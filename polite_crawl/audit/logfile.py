"""One append-only, crash-safe JSONL log (one per platform): O_APPEND writes of whole lines,
an exclusive lock, torn-tail repair on open, and the Merkle frontier kept in memory.

A write is not durable until `sync()` (fdatasync) returns; the Scrapy shell batches syncs
(group commit) and holds every request until its record is durable. In a crawl the log is
`buffered`: the lines of a reactor turn reach the file in one write() just before the turn's
sync (or a flush), instead of one write() each.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
from typing import TYPE_CHECKING, Any

from polite_crawl.audit.merkle import Frontier
from polite_crawl.audit.record import GENESIS, VERSION, RecordError, decode, encode

if TYPE_CHECKING:
    from pathlib import Path

ENTRIES = "entries.jsonl"
CHECKPOINTS = "checkpoints.log"


class AuditError(OSError):
    """The log cannot be written or trusted; the crawl must stop."""

    def __str__(self) -> str:
        # Most are not system errors: no "[Errno 0]" before the message.
        return str(self.strerror) if not self.errno else super().__str__()


def cut_torn_tail(path: Path) -> bool:
    """Cut an append-only file of signed notes back to its last newline, if a crash left a
    line unfinished (that note was never complete, so never relied on). Returns whether it
    cut."""
    try:
        size = path.stat().st_size
        if size == 0:
            return False
        with open(path, "rb") as fh:
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return False
            fh.seek(0)
            end = fh.read().rfind(b"\n") + 1
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.ftruncate(fd, end)
            os.fsync(fd)
        finally:
            os.close(fd)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise AuditError(exc.errno, f"cannot repair {path}: {exc.strerror}") from None
    return True


def sync_fds(fds: list[int]) -> None:
    """fdatasync each fd (in the fallback worker thread, when no sync helper process runs)."""
    for fd in fds:
        try:
            os.fdatasync(fd)
        except OSError as exc:
            # Never retry: after a failed fsync Linux may report later ones as clean.
            raise AuditError(exc.errno, f"cannot sync the audit log: {exc.strerror}") from None


def append_note(path: Path, entry: dict[str, Any]) -> None:
    """Append one signed note as one JSON line (a note itself spans several lines) and fsync it.
    A crash mid-write leaves a line without its newline: the verifier calls it a torn tail, and
    the next store cuts it off (a note never completed was never relied on)."""
    line = json.dumps(entry, ensure_ascii=True).encode() + b"\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            written = 0
            while written < len(line):
                written += os.write(fd, line[written:])
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise AuditError(exc.errno, f"cannot write {path}: {exc.strerror}") from None


def fsync_dir(path: Path) -> None:
    """Make a file's creation (or rename) in this directory durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LogFile:
    def __init__(self, directory: Path, origin: str, *, buffered: bool = False) -> None:
        self.directory = directory
        self.name = directory.name  # the platform id (or _sites): read on every append
        self.buffered = buffered
        self._pending: list[bytes] = []  # lines appended, not yet written (buffered only)
        self.path = directory / ENTRIES
        try:
            directory.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            self._fd = os.open(
                self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600
            )
        except OSError as exc:
            raise AuditError(exc.errno, f"cannot open {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            raise AuditError(0, f"{self.path} is in use by another crawl (locked)") from None
        if created:
            fsync_dir(directory)
        self.origin = origin
        self.frontier = Frontier()
        self.prev = GENESIS
        self.dirty = False
        self.failed = False  # a write failed: nothing more is written or signed
        self.repaired: dict[str, Any] | None = None
        # A crash (or a full disk) inside a checkpoint's write leaves its line unfinished.
        cut_torn_tail(directory / CHECKPOINTS)
        self._replay()
        self.signed_size = self._last_signed_size()

    @property
    def size(self) -> int:
        return self.frontier.size

    def _replay(self) -> None:
        with open(self.path, "rb") as fh:
            data = fh.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            data = self._mend_tail(data, end)
        signed = self._last_signed()
        for number, line in enumerate(data.split(b"\n")[:-1], start=1):
            try:
                record, digest = decode(line)
            except RecordError as exc:
                raise AuditError(
                    0,
                    f"{self.path}:{number}: {exc}; refusing to append to a "
                    "damaged log (run polite-crawl audit verify)",
                ) from None
            if number == 1 and isinstance(record.get("log"), str):
                self.origin = record["log"]  # a log keeps the origin it was created with
            if record.get("seq") != number - 1 or record.get("prev") != self.prev:
                raise AuditError(0, f"{self.path}:{number}: out of sequence; refusing to append")
            self.frontier.append(line)
            self.prev = digest
            at_signed = signed is not None and self.frontier.size == signed[0]
            if at_signed and signed is not None and self.frontier.root() != signed[1]:
                raise AuditError(
                    0,
                    f"{self.path}: the first {signed[0]} records do not match "
                    "the last signed checkpoint; refusing to append",
                )
        if signed is not None and self.frontier.size < signed[0]:
            raise AuditError(
                0,
                f"{self.path}: shorter than its last signed checkpoint "
                f"({self.frontier.size} < {signed[0]} records): restored from an "
                "older copy or cut; refusing to append",
            )

    def _last_signed(self) -> tuple[int, bytes] | None:
        """(size, root) of the last checkpoint, read without checking its signature: only to
        refuse to build on a log that no longer matches what was signed."""
        path = self.directory / CHECKPOINTS
        try:
            last = path.read_text(encoding="utf-8").strip().rsplit("\n", 1)[-1]
            if not last:
                return None
            text = json.loads(last)["note"].split("\n")
            return int(text[1]), base64.b64decode(text[2])
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None

    def _last_signed_size(self) -> int:
        path = self.directory / CHECKPOINTS
        try:
            last = path.read_text(encoding="utf-8").strip().rsplit("\n", 1)[-1]
            return int(json.loads(last)["size"]) if last else 0
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def _mend_tail(self, data: bytes, end: int) -> bytes:
        # A crash can leave the last line unfinished. If it is a whole record that lost only its
        # newline, the newline is added; anything else is cut off, and the cut is recorded
        # (size and sha256 of the bytes) once the log is open.
        tail = data[end:]
        try:
            decode(tail)
        except RecordError:
            self._repair(data, end)
            return data[:end]
        os.write(self._fd, b"\n")
        os.fsync(self._fd)
        return data + b"\n"

    def _repair(self, data: bytes, end: int) -> None:
        torn = data[end:]
        os.ftruncate(self._fd, end)
        os.fsync(self._fd)
        self.repaired = {
            "truncated_bytes": len(torn),
            "truncated_sha256": hashlib.sha256(torn).hexdigest(),
        }

    def _refuse_if_failed(self) -> None:
        if self.failed:
            raise AuditError(0, f"{self.path}: an earlier write or sync failed; nothing more")

    def append(self, record: dict[str, Any], ts: str) -> int:
        self._refuse_if_failed()
        seq = self.size
        line, digest = encode(
            {**record, "ts": ts, "v": VERSION, "log": self.origin, "seq": seq, "prev": self.prev}
        )
        if self.buffered:
            self._pending.append(line)
        else:
            self._write(line)
        self.frontier.append_line(line)
        self.prev = digest
        self.dirty = True
        return seq

    def _write(self, data: bytes) -> None:
        self._refuse_if_failed()
        try:
            written = 0
            while written < len(data):
                written += os.write(self._fd, data[written:])
        except OSError as exc:
            self.failed = True
            raise AuditError(exc.errno, f"cannot write {self.path}: {exc.strerror}") from None

    def flush(self) -> None:
        """Write the buffered lines (one write() for all of them)."""
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._write(data)

    def take_dirty(self) -> int | None:
        """For a sync elsewhere (helper process, thread): write what is buffered, return the fd to
        fdatasync if records await it, marking them as taken (records appended after this call
        wait for the next sync)."""
        self._refuse_if_failed()  # a failed fd is never synced again: it could report success
        if not self.dirty:
            return None
        self.flush()
        self.dirty = False
        return self._fd

    def sync(self) -> None:
        self._refuse_if_failed()
        if not self.dirty:
            return
        self.flush()
        try:
            os.fdatasync(self._fd)
        except OSError as exc:
            self.failed = True
            # Never retry: after a failed fsync Linux may report later ones as clean.
            raise AuditError(exc.errno, f"cannot sync {self.path}: {exc.strerror}") from None
        self.dirty = False

    def add_checkpoint(self, note: str) -> None:
        append_note(self.directory / CHECKPOINTS, {"size": self.size, "note": note})

    def abandon(self) -> None:
        """Close without syncing or writing: after a failure, a retried fsync may report data
        as safe that is not, and anything signed now could not be trusted."""
        self.failed = True
        self._pending.clear()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def close(self) -> None:
        if self.failed:
            self.abandon()
            return
        if self._fd >= 0:
            try:
                self.sync()
            finally:
                os.close(self._fd)
                self._fd = -1
