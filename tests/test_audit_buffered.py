"""A crawl's audit log is buffered: the lines of a reactor turn reach the file in one write()
at the group commit. The bytes must be the very bytes an unbuffered log writes, nothing may
reach the file before the flush, and a failed flush must fail the log like a failed write."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest

from polite_crawl.audit.keys import read_public
from polite_crawl.audit.logfile import ENTRIES, AuditError
from polite_crawl.audit.store import AuditStore
from polite_crawl.audit.verify import verify_log

if TYPE_CHECKING:
    from pathlib import Path


def _store(directory: Path, *, buffered: bool) -> AuditStore:
    store = AuditStore(directory, contact="mailto:ops@example.org", buffered=buffered)
    store.clock = lambda: 1_790_000_000.25  # the same timestamps in both logs
    store.run_start = {"purposes": ["research"], "user_agent": "examplebot/1.0"}
    return store


RECORDS: list[dict[str, Any]] = [
    {"type": "decision", "url": f"http://blog.test/p{i}?token=secret", "decision": "allow"}
    for i in range(5)
] + [{"type": "fetched", "url": "http://blog.test/p0?token=secret", "status": 200, "bytes": 10}]


def _entries(directory: Path) -> bytes:
    return (directory / "logs" / "_sites" / ENTRIES).read_bytes()


def test_buffered_lines_reach_the_file_at_the_flush_byte_for_byte(tmp_path: Path) -> None:
    plain, buffered = _store(tmp_path / "a", buffered=False), _store(tmp_path / "b", buffered=True)
    for record in RECORDS:
        plain.append(None, record)
        buffered.append(None, record)
    assert _entries(tmp_path / "b") == b""  # nothing written yet
    assert buffered.unsynced()
    buffered.flush()
    assert _entries(tmp_path / "b") == _entries(tmp_path / "a")
    assert b"secret" not in _entries(tmp_path / "b")  # redacted as before
    plain.close({"reason": "finished"})
    buffered.close({"reason": "finished"})
    assert _entries(tmp_path / "b") == _entries(tmp_path / "a")
    public = read_public(tmp_path / "b" / "public.key")
    report = verify_log(tmp_path / "b" / "logs" / "_sites", "_sites", public)  # raises if not
    assert report.records == len(RECORDS) + 2  # with run.start and run.end


def test_a_sync_writes_what_is_buffered_first(tmp_path: Path) -> None:
    store = _store(tmp_path, buffered=True)
    store.append(None, RECORDS[0])
    fds = store.take_dirty()  # what the crawl's group commit hands to its sync thread
    assert len(fds) == 1
    assert _entries(tmp_path).count(b"\n") == 2  # run.start and the decision
    assert not store.unsynced()


def test_a_failed_flush_fails_the_log_and_loses_no_written_line(tmp_path: Path) -> None:
    store = _store(tmp_path, buffered=True)
    store.append(None, RECORDS[0])
    store.flush()
    written = _entries(tmp_path)
    store.append(None, RECORDS[1])
    log = store.logs["_sites"]
    good_fd = log._fd
    log._fd = os.open(tmp_path / "logs" / "_sites" / ENTRIES, os.O_RDONLY)  # writes now fail
    with pytest.raises(AuditError, match="cannot write"):
        store.flush()
    assert log.failed
    os.close(log._fd)
    log._fd = good_fd
    store.abandon()
    assert _entries(tmp_path) == written
