"""Crash safety and failing closed: kill -9 mid-crawl, a torn tail, a disk that stops taking
writes. In every case nothing reached the server without a durable allow record."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from polite_crawl.testing.crawl import (
    Prepared,
    prepare_crawl,
    read_audit,
    run_cli,
    run_crawl,
    start_crawl,
)
from polite_crawl.testing.mockweb import Hit, MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]

SITE = "http://site.test"
OTHER = "http://other.test"


# Origin-level files are recorded once they are in (a preflight record), not before.
PREFLIGHTS = frozenset({"/robots.txt", "/.well-known/tdmrep.json", "/ai.txt"})


def serve_slow_site(web: MockWeb, pages: int = 40) -> list[str]:
    web.add(SITE + "/robots.txt", Resp(404))
    urls = [f"{SITE}/p{i}" for i in range(pages)]
    for url in urls:
        web.add(url, Resp(body=page().body, delay=0.15))
    return urls


def verify(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("audit", "verify", str(path), *extra)


def assert_every_fetch_was_allowed_first(web: MockWeb, audit_dir: Path) -> None:
    allowed = {
        r["url"]
        for r in read_audit(audit_dir)
        if r.get("type") == "decision" and r["decision"] == "allow"
    }
    fetched = {h.url for h in web.hits if h.path not in PREFLIGHTS}
    assert fetched, "the crawl fetched nothing: the test proves nothing"
    assert fetched <= allowed


def start_then_kill(prepared: Prepared, lines: int) -> None:
    """Start the crawl, and kill -9 it once its log holds `lines` lines."""
    proc = start_crawl(prepared)
    entries = prepared.audit_dir / "logs" / "_sites" / "entries.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if entries.exists() and entries.read_bytes().count(b"\n") >= lines:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_kill_9_then_a_second_run_repairs_and_verifies(mockweb: MockWeb, tmp_path: Path) -> None:
    urls = serve_slow_site(mockweb)
    prepared = prepare_crawl(
        mockweb,
        tmp_path / "run1",
        urls,
        {"POLITE_CRAWL_PURPOSES": ["research"], "CONCURRENT_REQUESTS": 4},
    )
    start_then_kill(prepared, lines=12)
    entries = prepared.audit_dir / "logs" / "_sites" / "entries.jsonl"

    assert_every_fetch_was_allowed_first(mockweb, prepared.audit_dir)
    assert len([h for h in mockweb.hits if h.path not in PREFLIGHTS]) < len(urls)  # mid-crawl
    # A kill during a write leaves half a line; append one, as such a crash would.
    with open(entries, "ab") as fh:
        fh.write(b'{"decision":"allow","evidence":{"robo')
    torn = verify(prepared.audit_dir)
    assert torn.returncode == 1
    assert "torn tail" in torn.stderr

    second = prepare_crawl(
        mockweb,
        tmp_path / "run2",
        urls[:2],
        {"POLITE_CRAWL_PURPOSES": ["research"], "POLITE_CRAWL_AUDIT_DIR": str(prepared.audit_dir)},
    )
    subprocess.run(
        second.cmd,
        cwd=second.workdir,
        env=second.env,
        capture_output=True,
        timeout=120,
        check=True,
    )

    repaired = verify(prepared.audit_dir)
    assert repaired.returncode == 0, repaired.stderr
    assert "torn tail repaired after a crash" in repaired.stdout
    recovered = [r for r in read_audit(prepared.audit_dir) if r.get("type") == "log.recovered"]
    assert recovered[0]["truncated_bytes"] == len(b'{"decision":"allow","evidence":{"robo')


def test_a_log_left_unsigned_by_a_crash_is_signed_by_export(
    mockweb: MockWeb, tmp_path: Path
) -> None:
    urls = serve_slow_site(mockweb, pages=20)
    prepared = prepare_crawl(
        mockweb,
        tmp_path / "run",
        urls,
        {"POLITE_CRAWL_PURPOSES": ["research"], "CONCURRENT_REQUESTS": 2},
    )
    start_then_kill(prepared, lines=6)

    unsigned = verify(prepared.audit_dir)
    export = run_cli(
        "audit",
        "export",
        "--platform",
        "_sites",
        "-o",
        str(tmp_path / "bundle"),
        str(prepared.audit_dir),
    )

    assert unsigned.returncode == 1
    assert "the crawl did not close; the next crawl writing to it, or polite-crawl audit seal" in (
        unsigned.stderr
    )
    assert export.returncode == 0, export.stderr
    pinned = verify(tmp_path / "bundle", "--key", str(prepared.audit_dir / "public.key"))
    assert pinned.returncode == 0, pinned.stderr
    assert verify(prepared.audit_dir).returncode == 0


def test_a_disk_that_stops_taking_writes_stops_the_crawl(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path
) -> None:
    urls = serve_slow_site(mockweb, pages=30)

    result = crawl(urls, {"CONCURRENT_REQUESTS": 2}, max_file_bytes=12_000)

    assert result.reason == "polite_crawl_audit_failure"
    assert result.returncode != 0  # a shell script or a scheduler must see it
    assert "the audit log failed, closing the crawl" in result.log
    assert len([h for h in mockweb.hits if h.path not in PREFLIGHTS]) < len(urls)
    audit = tmp_path / "crawl0" / "audit"
    assert_every_fetch_was_allowed_first(mockweb, audit)
    # Nothing was written or signed after the failure: the next crawl opens the log, mends a
    # torn tail if the failed write left one, and the whole log verifies.
    crawl(urls[:1], {"POLITE_CRAWL_AUDIT_DIR": str(audit)})
    after = verify(audit)
    assert after.returncode == 0, after.stderr


def test_an_audit_dir_in_use_by_another_crawl_refuses_to_start(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path
) -> None:
    import fcntl

    audit = tmp_path / "shared-audit"
    (audit / "logs" / "_sites").mkdir(parents=True)
    lock = open(audit / "logs" / "_sites" / "entries.jsonl", "ab")  # noqa: SIM115
    fcntl.flock(lock, fcntl.LOCK_EX)
    urls = serve_slow_site(mockweb, pages=2)
    try:
        result = crawl(urls, {"POLITE_CRAWL_AUDIT_DIR": str(audit)})
    finally:
        lock.close()

    assert "is in use by another crawl (locked)" in result.log
    assert [h for h in mockweb.hits if h.path not in PREFLIGHTS] == []


def test_a_second_crawl_on_the_same_audit_dir_refuses_to_start(
    mockweb: MockWeb, tmp_path: Path
) -> None:
    # The first crawl holds its page until the second has come and gone: both run at once.
    import threading

    release = threading.Event()

    def held(hit: Hit) -> Resp:
        release.wait(60)
        return page()

    mockweb.add(SITE + "/robots.txt", Resp(404))
    mockweb.add(SITE + "/held", held)
    mockweb.add(OTHER + "/robots.txt", Resp(404))
    mockweb.add(OTHER + "/", page())
    first = prepare_crawl(
        mockweb,
        tmp_path / "first",
        [SITE + "/held"],
        {"POLITE_CRAWL_PURPOSES": ["research"], "DOWNLOAD_TIMEOUT": 90},
    )
    proc = start_crawl(first)
    try:
        deadline = time.monotonic() + 60
        while not mockweb.fetched(SITE + "/held") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert mockweb.fetched(SITE + "/held"), "the first crawl never got going"

        second = run_crawl(
            mockweb,
            tmp_path / "second",
            [OTHER + "/"],
            {
                "POLITE_CRAWL_PURPOSES": ["research"],
                "POLITE_CRAWL_AUDIT_DIR": str(first.audit_dir),
            },
        )
    finally:
        release.set()
    first_status = proc.wait(timeout=60)

    assert mockweb.urls("other.test") == []  # not even its robots.txt
    assert second.returncode != 0
    errors = [line for line in second.log.splitlines() if "ERROR: polite_crawl" in line]
    assert len(errors) == 1, errors
    assert "the crawl cannot start" in errors[0]
    assert f"POLITE_CRAWL_AUDIT_DIR = '{first.audit_dir}'" in errors[0]
    assert f"in use by another crawl (pid {proc.pid}, " in errors[0]
    for noise in ("Errno 0", "Failure", "Unhandled error in Deferred", "Traceback"):
        assert noise not in second.log, second.log  # the one line says it all
    # The first crawl went on undisturbed, and nothing of the second is in its log.
    assert first_status == 0
    assert not [r for r in read_audit(first.audit_dir) if "other.test" in r.get("url", "")]
    assert verify(first.audit_dir).returncode == 0


# The two other ways to run a crawl: `scrapy crawl` in a project, and a script of one's own with
# a CrawlerProcess, which reads the outcome from `bootstrap_failed` (docs/audit.md).
PROJECT_SPIDER = """
from polite_crawl.testing.spiders import FollowAllSpider


class Follow(FollowAllSpider):
    pass
"""

PROCESS_SCRIPT = """
import json
import sys

from scrapy.crawler import CrawlerProcess

from polite_crawl.testing.crawl import BASE_SETTINGS
from polite_crawl.testing.spiders import FollowAllSpider

process = CrawlerProcess({**BASE_SETTINGS, **json.loads(sys.argv[1])})
process.crawl(FollowAllSpider)
process.start()
print("bootstrap_failed =", process.bootstrap_failed)
sys.exit(1 if process.bootstrap_failed else 0)
"""


def run_elsewhere(
    web: MockWeb, workdir: Path, how: str, settings: dict[str, object], *, max_file_bytes: int
) -> subprocess.CompletedProcess[str]:
    """Run FollowAllSpider with `scrapy crawl` in a project or from a CrawlerProcess script,
    its files limited to max_file_bytes (RLIMIT_FSIZE, as a full disk)."""
    from polite_crawl.testing.crawl import BASE_SETTINGS, _file_limit

    workdir.mkdir(parents=True)
    if how == "scrapy crawl":
        (workdir / "scrapy.cfg").write_text("[settings]\ndefault = proj.settings\n")
        (workdir / "proj" / "spiders").mkdir(parents=True)
        (workdir / "proj" / "__init__.py").write_text("")
        (workdir / "proj" / "spiders" / "__init__.py").write_text("")
        (workdir / "proj" / "spiders" / "follow.py").write_text(PROJECT_SPIDER)
        merged = {**BASE_SETTINGS, "SPIDER_MODULES": ["proj.spiders"], **settings}
        lines = [f"{k} = {v!r}" for k, v in merged.items()]
        (workdir / "proj" / "settings.py").write_text("\n".join(lines) + "\n")
        cmd = [sys.executable, "-m", "scrapy", "crawl", "follow_all"]
    else:
        (workdir / "script.py").write_text(PROCESS_SCRIPT)
        cmd = [sys.executable, str(workdir / "script.py"), json.dumps(settings)]
    env = {**os.environ, **web.env()}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    return subprocess.run(
        cmd,
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=_file_limit(max_file_bytes),
    )


@pytest.mark.parametrize("how", ["scrapy crawl", "CrawlerProcess"])
def test_an_audit_failure_is_a_failed_crawl_however_it_runs(
    mockweb: MockWeb, tmp_path: Path, how: str
) -> None:
    urls = serve_slow_site(mockweb, pages=30)
    settings = {
        "POLITE_CRAWL_PURPOSES": ["research"],
        "POLITE_CRAWL_AUDIT_DIR": str(tmp_path / "audit"),
        "MOCKWEB_START_URLS": urls,
        "CONCURRENT_REQUESTS": 2,
    }

    proc = run_elsewhere(mockweb, tmp_path / "run", how, settings, max_file_bytes=12_000)

    assert "the audit log failed, closing the crawl" in proc.stderr
    assert "(polite_crawl_audit_failure)" in proc.stderr
    assert proc.returncode != 0, proc.stderr
    if how == "CrawlerProcess":
        assert "bootstrap_failed = True" in proc.stdout
    assert_every_fetch_was_allowed_first(mockweb, tmp_path / "audit")


@pytest.mark.parametrize("durability", ["fsync", "none"])
def test_the_allow_record_is_in_the_file_before_the_request_arrives(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path, durability: str
) -> None:
    # Records are buffered for one write() per reactor turn; the one a request waits for must
    # still be in the file (and, with fsync, synced) before a byte of the request is sent. The
    # server itself looks, when the request reaches it. (With durability none the flush at the
    # end of the turn would almost always come first too: that case guards the order, it cannot
    # tell the explicit flush from the turn's.)
    entries = tmp_path / "crawl0" / "audit" / "logs" / "_sites" / "entries.jsonl"
    seen_first: dict[str, bool] = {}

    def answer(hit: Hit) -> Resp:
        # Whole lines only: the crawl may be writing a later record while this reads the file
        # (a read can see part of a write in progress).
        data = entries.read_bytes() if entries.exists() else b""
        records = [json.loads(line) for line in data.split(b"\n")[:-1]]
        seen_first[hit.url] = any(
            r.get("type") == "decision" and r["url"] == hit.url and r["decision"] == "allow"
            for r in records
        )
        return Resp(body=page(*[f"/p{i}" for i in range(12)]).body)

    mockweb.add(SITE + "/robots.txt", Resp(404))
    for i in range(12):
        mockweb.add(f"{SITE}/p{i}", answer)

    result = crawl([SITE + "/p0"], {"POLITE_CRAWL_AUDIT_DURABILITY": durability})

    assert result.reason == "finished"
    assert len(seen_first) == 12
    assert all(seen_first.values()), seen_first


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_a_sync_helper_that_dies_stops_the_crawl(mockweb: MockWeb, tmp_path: Path) -> None:
    # fdatasync runs in a helper process; if it goes, nothing more can be made durable.
    urls = serve_slow_site(mockweb)
    prepared = prepare_crawl(
        mockweb, tmp_path, urls, {"POLITE_CRAWL_PURPOSES": ["research"], "CONCURRENT_REQUESTS": 4}
    )
    proc = start_crawl(prepared)
    entries = prepared.audit_dir / "logs" / "_sites" / "entries.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if entries.exists() and entries.read_bytes().count(b"\n") >= 8:
            break
        time.sleep(0.05)
    helpers = _children(proc.pid)
    assert len(helpers) == 1, helpers
    os.kill(helpers[0], signal.SIGKILL)
    assert proc.wait(timeout=60) != 0  # closed for an audit failure: not a success

    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["reason"] == "polite_crawl_audit_failure"
    assert len([h for h in mockweb.hits if h.path not in PREFLIGHTS]) < len(urls)
    assert_every_fetch_was_allowed_first(mockweb, prepared.audit_dir)


def test_requests_refused_for_an_audit_failure_are_not_retried(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    urls = serve_slow_site(mockweb, pages=30)

    # RetryMiddleware on, as in a new project: an OSError would be retried; the refusal is not.
    result = crawl(urls, {"CONCURRENT_REQUESTS": 2, "RETRY_ENABLED": True}, max_file_bytes=12_000)

    assert result.reason == "polite_crawl_audit_failure"
    assert result.returncode != 0
    assert result.stat("retry/count") == 0, result.log
    assert "Retrying" not in result.log
    pages = [h.url for h in mockweb.hits if h.path not in PREFLIGHTS]
    assert len(pages) == len(set(pages))  # nothing sent twice
