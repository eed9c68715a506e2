"""All the logs of one audit directory: one per platform policy id, `_sites` for hosts no policy
claims, plus the signing key, the evidence store (robots.txt bytes by sha256) and checkpoints.

    <audit dir>/signing.key  public.key  LOCK  heads.log
                logs/<platform>/entries.jsonl  checkpoints.log
                evidence/<sha256>

The byte-level format of every file is specified in docs/format.md.

A store holds the directory's LOCK (dirlock.py) from its opening until close(), abandon() or
release(): one crawl (or export) per audit directory at a time.
"""

from __future__ import annotations

import datetime
import functools
import os
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from polite_crawl.audit import dirlock, keys, note
from polite_crawl.audit.heads import HeadLog, scan_commitments
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
    """The operator part of log origins: the contact's domain, else the key's fingerprint. A
    domain with other characters than [a-z0-9.-] is not used: an origin is a signed note's key
    name, which may hold no whitespace or "+" (docs/format.md §2)."""
    if contact:
        address = contact.removeprefix("mailto:").split("://", 1)[-1]
        host = address.split("@")[-1].split("/")[0].split(":")[0].lower()
        if host and _DOMAIN_CHARS.issuperset(host):
            return host
    return "operator-" + keys.fingerprint(public)[:16]


_DOMAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")


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
        key_file: Path | None = None,
        worker: str | None = None,
    ) -> None:
        """buffered: lines reach the files at take_dirty, sync, flush or close (a crawl's
        group commit), not at each append. key_file: the key kept outside the directory that
        signs its logs (a fleet's shared key); worker: this directory's name among the
        directories that key signs, part of every new log's origin (docs/format.md §2)."""
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
            # Whether this opening made the key: a new key is a new identity platforms pin.
            if key_file is not None:
                self.key_created = False
                self.key: Ed25519PrivateKey = keys.load_shared(directory, key_file)
            else:
                self.key_created = (
                    not (directory / keys.KEY_FILE).exists()
                    and not (directory / keys.KEY_PATH_FILE).exists()
                )
                self.key = keys.load_or_create(directory, create=create_key)
        except OSError as exc:
            self.release()
            raise AuditError(exc.errno, f"cannot prepare {directory}: {exc.strerror}") from None
        except BaseException:
            self.release()
            raise
        self.public = self.key.public_key().public_bytes_raw()
        self.operator = operator_of(contact, self.public)
        self.worker = worker
        if worker is not None:
            # One key signs several directories: each one's logs carry its worker's name, so
            # that no two logs the key signs share an origin.
            self.operator = f"{self.operator}/{worker}"
        self.checkpoint_every = checkpoint_every
        self.checkpoint_seconds = checkpoint_seconds
        self.logs: dict[str, LogFile] = {}
        self._last_checkpoint: dict[str, tuple[int, float]] = {}
        self.run_start: dict[str, Any] = {}
        # sha256 -> bytes of files a record may cite (policy files) and not yet kept as evidence
        self.citable: dict[str, bytes] = {}
        # What each log's run.end counts: its records since this run's run.start.
        self._counts: dict[str, Counter[str]] = {}
        try:
            # Every log's checkpoints, this run's or not: a head covers the whole directory.
            known = scan_commitments(directory / "logs")
            self.heads = HeadLog(directory, self.key, f"{self.operator}/polite-crawl/head")
            self.heads.check(known)
        except AuditError:
            self.release()
            raise
        except OSError as exc:
            self.release()
            raise AuditError(exc.errno, f"cannot read {directory}: {exc.strerror}") from None
        self._latest = {name: listed[-1] for name, listed in known.items() if listed}

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
        self.sign_head()  # also after a crash between a checkpoint and its head
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
        seq = log.append(record, now_rfc3339(self.clock))
        kind = record.get("type")
        if kind == "run.start":
            self._counts[log.name] = Counter()
        counts = self._counts.get(log.name)
        if counts is not None:
            counts[f"decision/{record.get('decision')}" if kind == "decision" else str(kind)] += 1
        return seq

    def append(self, platform: str | None, record: dict[str, Any]) -> LogFile:
        log = self.logs.get(platform or NO_PLATFORM) or self.log(platform)
        params = self.redact_params
        url, via = record.get("url"), record.get("via")
        if isinstance(url, str) and (redacted := redact_url(url, params)) is not url:
            record = {**record, "url": redacted}  # the caller's record is never changed
        if isinstance(via, str) and (redacted := redact_url(via, params)) is not via:
            record = {**record, "via": redacted}
        evidence = record.get("evidence")
        if isinstance(evidence, dict) and self.citable:
            tos = evidence.get("tos")
            if isinstance(tos, dict) and (digest := tos.get("policy_sha256")) in self.citable:
                # Kept (and synced) before the first record citing it is written: a log never
                # cites evidence that a crash could leave unkept.
                self.keep_evidence(self.citable[digest], str(digest))
                del self.citable[digest]
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
        signed = False
        for name, log in self.logs.items():
            size, at = self._last_checkpoint[name]
            if log.size > size and (
                log.size - size >= self.checkpoint_every or now - at >= self.checkpoint_seconds
            ):
                self.checkpoint(name)
                signed = True
        if signed:
            self.sign_head()

    def checkpoint(self, name: str) -> None:
        """Sign a checkpoint of one log (the caller signs the head after its round)."""
        log = self.logs[name]
        log.sync()
        cp = note.Checkpoint(log.origin, log.size, log.frontier.root())
        log.add_checkpoint(note.sign(cp, log.origin, self.key))
        self._last_checkpoint[name] = (log.size, self.clock())
        self._latest[name] = note.commitment(cp.body())

    def sign_head(self) -> None:
        """A head over every log's latest checkpoint, unless the last head says the same."""
        self.heads.sign(self._latest, now_rfc3339(self.clock))

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
        """end: what run.end says besides the counts of its own log's records (a log never
        reports on another)."""
        errors: list[str] = []
        for name, log in self.logs.items():
            try:
                counts = dict(sorted(self._counts.get(name, Counter()).items()))
                self._append(log, {"type": "run.end", **end, "counts": counts})
                self.checkpoint(name)
            except AuditError as exc:
                errors.append(str(exc))
            finally:
                log.close()
        if not any(log.failed for log in self.logs.values()):
            try:
                self.sign_head()
            except AuditError as exc:
                errors.append(str(exc))
        self.release()
        if errors:
            raise AuditError(0, "; ".join(errors))
