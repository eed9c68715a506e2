"""All the logs of one audit directory: one per platform policy id, `_sites` for hosts no policy
claims, plus the signing key, the evidence store (robots.txt bytes by sha256) and checkpoints.

    <audit dir>/signing.key  public.key  LOCK
                logs/<platform>/entries.jsonl  checkpoints.log
                evidence/<sha256>

A store holds the directory's LOCK (dirlock.py) from its opening until close(), abandon() or
release(): one crawl (or export) per audit directory at a time.
"""

from __future__ import annotations

import datetime
import functools
import os
import time
from typing import TYPE_CHECKING, Any

from polite_crawl.audit import dirlock, keys, note
from polite_crawl.audit.logfile import AuditError, LogFile
from polite_crawl.audit.redact import DEFAULT_REDACT_PARAMS, redact_url

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

NO_PLATFORM = "_sites"


def now_rfc3339(clock: Callable[[], float] = time.time) -> str:
    """The time in RFC 3339 UTC with microseconds, e.g. 2026-11-26T11:21:44.123456Z."""
    t = clock()
    seconds = int(t // 1)
    micros = round((t - seconds) * 1e6)
    if micros >= 1_000_000:  # rounded up into the next second
        seconds, micros = seconds + 1, micros - 1_000_000
    # Every record is stamped: the part up to the second is formatted once per second.
    prefix = _second_prefix(seconds)
    return f"{prefix}.{micros:06d}Z"


@functools.lru_cache(maxsize=4)
def _second_prefix(seconds: int) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def operator_of(contact: str | None, public: bytes) -> str:
    """The operator part of log origins: the contact's domain, else the key's fingerprint."""
    if contact:
        address = contact.removeprefix("mailto:").split("://", 1)[-1]
        host = address.split("@")[-1].split("/")[0].split(":")[0].lower()
        if host:
            return host
    return "operator-" + keys.fingerprint(public)[:16]


class AuditStore:
    def __init__(
        self,
        directory: Path,
        *,
        contact: str | None,
        checkpoint_every: int = 1024,
        checkpoint_seconds: float = 60.0,
        redact_params: frozenset[str] = frozenset(DEFAULT_REDACT_PARAMS),
        clock: Callable[[], float] = time.time,
        create_key: bool = True,
        buffered: bool = False,
    ) -> None:
        """buffered: lines reach the files at take_dirty, sync, flush or close (a crawl's
        group commit), not at each append."""
        self.directory = directory
        self.buffered = buffered
        self.redact_params = frozenset(p.lower() for p in redact_params)
        self.clock = clock
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AuditError(exc.errno, f"cannot prepare {directory}: {exc.strerror}") from None
        # First, before anything is created or read: two crawls would both create a key.
        self._lock: int | None = dirlock.lock_directory(directory)
        try:
            (directory / "logs").mkdir(exist_ok=True)
            (directory / "evidence").mkdir(exist_ok=True)
            self.key: Ed25519PrivateKey = keys.load_or_create(directory, create=create_key)
        except OSError as exc:
            self.release()
            raise AuditError(exc.errno, f"cannot prepare {directory}: {exc.strerror}") from None
        except BaseException:
            self.release()
            raise
        self.public = self.key.public_key().public_bytes_raw()
        self.operator = operator_of(contact, self.public)
        self.checkpoint_every = checkpoint_every
        self.checkpoint_seconds = checkpoint_seconds
        self.logs: dict[str, LogFile] = {}
        self._last_checkpoint: dict[str, tuple[int, float]] = {}
        self.run_start: dict[str, Any] = {}

    @property
    def fingerprint(self) -> str:
        return keys.fingerprint(self.public)

    def origin(self, platform: str) -> str:
        return f"{self.operator}/polite-crawl/{platform}"

    def seal(self, platform: str) -> int:
        """Open a log outside a crawl (repairing a torn tail) and sign what is unsigned; for
        export. Returns the number of records signed by the new checkpoint, if any."""
        log = self.log(platform, announce=False)
        size, _ = self._last_checkpoint[platform]
        if log.size > size or not (log.directory / "checkpoints.log").exists():
            self.checkpoint(platform)
        log.close()
        del self.logs[platform]
        return log.size

    def log(self, platform: str | None, *, announce: bool = True) -> LogFile:
        name = platform or NO_PLATFORM
        log = self.logs.get(name)
        if log is None:
            log = LogFile(
                self.directory / "logs" / name, self.origin(name), buffered=self.buffered
            )
            self.logs[name] = log
            self._last_checkpoint[name] = (log.signed_size, self.clock())
            if log.repaired is not None:
                self._append(log, {"type": "log.recovered", **log.repaired})
            if announce:
                # Every log the run touches says who crawled, so that an export stands alone.
                self._append(log, {"type": "run.start", **self.run_start})
        return log

    def _append(self, log: LogFile, record: dict[str, Any]) -> int:
        return log.append(record, now_rfc3339(self.clock))

    def append(self, platform: str | None, record: dict[str, Any]) -> LogFile:
        log = self.logs.get(platform or NO_PLATFORM) or self.log(platform)
        params = self.redact_params
        url, via = record.get("url"), record.get("via")
        if isinstance(url, str) and (redacted := redact_url(url, params)) is not url:
            record = {**record, "url": redacted}  # the caller's record is never changed
        if isinstance(via, str) and (redacted := redact_url(via, params)) is not via:
            record = {**record, "via": redacted}
        evidence = record.get("evidence")
        if isinstance(evidence, dict) and ("robots_url" in evidence or "final_url" in evidence):
            evidence = {
                k: redact_url(v, self.redact_params)
                if k in ("robots_url", "final_url") and isinstance(v, str)
                else v
                for k, v in evidence.items()
            }
            record = {**record, "evidence": evidence}
        self._append(log, record)
        return log

    def keep_evidence(self, body: bytes, digest: str) -> None:
        """Store bytes a decision rests on (a robots.txt), once, under their sha256."""
        path = self.directory / "evidence" / digest
        if path.exists():
            return
        tmp = path.with_suffix(".tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            raise AuditError(exc.errno, f"cannot store evidence {path}: {exc.strerror}") from None

    def sync(self) -> None:
        for log in self.logs.values():
            log.sync()

    def flush(self) -> None:
        """Write every buffered line (see buffered); durable only after a sync."""
        for log in self.logs.values():
            log.flush()

    def unsynced(self) -> bool:
        """Whether any record was appended since the last sync."""
        return any(log.dirty for log in self.logs.values())

    def take_dirty(self) -> list[int]:
        """The fds a background sync must fdatasync now (see LogFile.take_dirty)."""
        return [fd for log in self.logs.values() if (fd := log.take_dirty()) is not None]

    def checkpoints_due(self) -> None:
        now = self.clock()
        for name, log in self.logs.items():
            size, at = self._last_checkpoint[name]
            if log.size > size and (
                log.size - size >= self.checkpoint_every or now - at >= self.checkpoint_seconds
            ):
                self.checkpoint(name)

    def checkpoint(self, name: str) -> None:
        log = self.logs[name]
        log.sync()
        cp = note.Checkpoint(log.origin, log.size, log.frontier.root())
        log.add_checkpoint(note.sign(cp, log.origin, self.key))
        self._last_checkpoint[name] = (log.size, self.clock())

    def release(self) -> None:
        """Give up the directory's lock (once every log is closed)."""
        lock, self._lock = self._lock, None
        if lock is not None:
            dirlock.release(lock)

    def abandon(self) -> None:
        """After a write or sync failure: close every log, write and sign nothing more. The
        next crawl repairs a torn tail and signs what is on disk."""
        for log in self.logs.values():
            log.abandon()
        self.release()

    def close(self, end: dict[str, Any]) -> None:
        errors: list[str] = []
        for name, log in self.logs.items():
            try:
                self._append(log, {"type": "run.end", **end})
                self.checkpoint(name)
            except AuditError as exc:
                errors.append(str(exc))
            finally:
                log.close()
        self.release()
        if errors:
            raise AuditError(0, "; ".join(errors))
