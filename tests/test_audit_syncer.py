"""The audit log's sync helper (polite_crawl/audit/syncer.py): it fdatasyncs the crawl's own
open files, reports errors with their errno, and never outlives the crawl process."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from polite_crawl.audit.syncer import SyncHelper, SyncHelperError


def _answer(helper: SyncHelper) -> OSError | None:
    ready, _, _ = select.select([helper.fileno()], [], [], 10)
    assert ready, "the helper did not answer within 10 s"
    return helper.answer()


def test_a_batch_of_files_is_synced(tmp_path: Path) -> None:
    helper = SyncHelper()
    fds = [os.open(tmp_path / name, os.O_WRONLY | os.O_CREAT, 0o600) for name in "ab"]
    try:
        for fd in fds:
            os.write(fd, b"record\n")
        for _ in range(3):  # each fd is handed over once, then named
            helper.request(fds)
            assert _answer(helper) is None
        with pytest.raises(BlockingIOError):
            helper.answer()  # one answer per batch, nothing more
    finally:
        helper.close()
        for fd in fds:
            os.close(fd)
    assert helper.process.returncode == 0


def test_a_failed_fdatasync_answers_with_its_errno() -> None:
    helper = SyncHelper()
    read_end, write_end = os.pipe()  # fdatasync refuses a pipe: EINVAL
    try:
        helper.request([write_end])
        error = _answer(helper)
    finally:
        helper.close()
        os.close(read_end)
        os.close(write_end)
    assert isinstance(error, OSError)
    assert error.errno == 22


def test_a_dead_helper_is_an_error_not_a_hang(tmp_path: Path) -> None:
    helper = SyncHelper()
    fd = os.open(tmp_path / "log", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        helper.process.kill()
        helper.process.wait()
        try:
            helper.request([fd])
        except SyncHelperError:
            return  # refused at once: fine
        error = _answer(helper)
        assert isinstance(error, SyncHelperError)
    finally:
        helper.close()
        os.close(fd)


CRAWL_LIKE = """
import sys, time
from polite_crawl.audit.syncer import SyncHelper
helper = SyncHelper()
print(helper.process.pid, flush=True)
time.sleep(60)
"""


def test_the_helper_exits_when_the_crawl_process_is_killed() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", CRAWL_LIKE], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        helper_pid = int(proc.stdout.readline())
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{helper_pid}/stat").read_text()
        except FileNotFoundError:
            return  # gone
        if stat.split(")")[-1].split()[0] == "Z":
            return  # exited; only its reaping (by init) is left
        time.sleep(0.05)
    pytest.fail("the sync helper outlived the crawl process")


def test_a_ctrl_c_meant_for_the_crawl_does_not_stop_the_helper(tmp_path: Path) -> None:
    # Scrapy closes cleanly on SIGINT and syncs its last records then: the helper must be there.
    helper = SyncHelper()
    fd = os.open(tmp_path / "log", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        assert os.getpgid(helper.process.pid) != os.getpgid(0)  # not in our process group
        time.sleep(0.3)  # let it install its signal dispositions
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            helper.process.send_signal(sig)
        helper.request([fd])
        assert _answer(helper) is None
    finally:
        helper.close()
        os.close(fd)


def test_an_error_without_a_system_error_number_reads_as_its_message() -> None:
    error = SyncHelperError(0, "cannot start the audit sync helper: no SOCK_SEQPACKET")

    assert f"cannot sync the audit log: {error}" == (
        "cannot sync the audit log: cannot start the audit sync helper: no SOCK_SEQPACKET"
    )


@pytest.mark.skipif(not Path("/proc/self/comm").exists(), reason="reads /proc (Linux)")
def test_the_helper_reads_as_itself_in_ps() -> None:
    # `ps` showed `python3 -c <the helper's whole source>`.
    helper = SyncHelper()
    try:
        pid = helper.process.pid
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            if comm == "polite-sync":
                break
            time.sleep(0.02)
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    finally:
        helper.close()

    assert comm == "polite-sync"
    assert args[1:3] == [b"-s", b"-S"], args  # no site module: the standard library only
    assert args[3].endswith(b"polite_crawl/audit/sync_helper.py"), args
    assert len(b" ".join(args)) < 300  # a path and a number, not a program
