"""One writer per audit directory: an exclusive `flock` on `<audit dir>/LOCK`, taken when the
store opens and held until it closes.

Each log is locked too (logfile.py), but logs open when a crawl first writes to them: a second
crawl on the same directory would start, fetch, and fail only when it reached a log the first
one holds, leaving its own records unsigned. The directory lock refuses it before its first
request. The kernel drops the lock when the process ends, however it ends (kill -9 included),
so a crashed crawl never leaves a stale lock behind. The file holds the holder's pid, only to
name it in the refusal.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from typing import TYPE_CHECKING

from polite_crawl.audit.logfile import AuditError

if TYPE_CHECKING:
    from pathlib import Path

LOCK_FILE = "LOCK"


def lock_directory(directory: Path) -> int:
    """Take the directory's lock; the open fd, to close (and so release) with release()."""
    path = directory / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise AuditError(exc.errno, f"cannot open {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = _holder(fd)
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise AuditError(
                0, f"in use by another crawl ({holder}, which holds {path})"
            ) from None
        raise AuditError(exc.errno, f"cannot lock {path}: {exc.strerror}") from None
    # Only to name the holder to a crawl refused later: a full disk must not stop this one.
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def busy(directory: Path) -> str | None:
    """Who holds the directory's lock now (a crawl writing to it), or None; creates nothing, so
    a read-only copy can be asked too."""
    try:
        fd = os.open(directory / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return _holder(fd)
        return None
    finally:
        os.close(fd)
    return None


def release(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def _holder(fd: int) -> str:
    try:
        pid = int(os.pread(fd, 32, 0).decode("ascii").strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return "pid unknown"
    return f"pid {pid}"
