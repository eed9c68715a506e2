"""The audit directory on a disk that fills up or turns read-only mid-crawl, for real: a tmpfs
in a private user and mount namespace, so that the kernel answers ENOSPC and EROFS (see
tests/mount_and_crawl.py). The crawl closes with `polite_crawl_audit_failure`, says why in an
ERROR line, and nothing reached the server without a durable allow record before it.
(RLIMIT_FSIZE as a stand-in for a full disk: tests/test_audit_crash.py.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from polite_crawl.testing.crawl import prepare_crawl, read_audit, run_cli, run_crawl
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from polite_crawl.testing.crawl import CrawlResult

HERE = Path(__file__).parent
SITE = "http://site.test"
OTHER = "http://other.test"
UNSHARE = ["unshare", "--user", "--map-root-user", "--mount"]
PREFLIGHTS = frozenset({"/robots.txt", "/.well-known/tdmrep.json", "/ai.txt"})


def _namespaces() -> str | None:
    """Why a private mount namespace with a tmpfs cannot be had here, or None if it can."""
    if shutil.which("unshare") is None:
        return "no unshare(1)"
    probe = subprocess.run(
        [*UNSHARE, "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
        text=True,
        check=False,
    )
    return None if probe.returncode == 0 else f"unshare/mount refused: {probe.stderr.strip()}"


NO_NAMESPACES = _namespaces()
pytestmark = pytest.mark.skipif(NO_NAMESPACES is not None, reason=str(NO_NAMESPACES))


def serve_slow_site(web: MockWeb, pages: int) -> list[str]:
    web.add(SITE + "/robots.txt", Resp(404))
    urls = [f"{SITE}/p{i}" for i in range(pages)]
    for url in urls:
        web.add(url, Resp(body=page().body, delay=0.15))
    return urls


def crawl_on_tmpfs(
    web: MockWeb, workdir: Path, mode: str, start_urls: list[str]
) -> tuple[CrawlResult, Path]:
    from polite_crawl.testing.crawl import CrawlResult

    prepared = prepare_crawl(
        web,
        workdir,
        start_urls,
        {"POLITE_CRAWL_PURPOSES": ["research"], "CONCURRENT_REQUESTS": 2},
    )
    cmd = [
        *UNSHARE,
        sys.executable,
        str(HERE / "mount_and_crawl.py"),
        mode,
        str(prepared.audit_dir),
        str(workdir),
        "--",
        *prepared.cmd,
    ]
    proc = subprocess.run(
        cmd,
        cwd=workdir,
        env=prepared.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    result = CrawlResult(proc.returncode, proc.stdout + proc.stderr)
    stats = json.loads((workdir / "stats.json").read_text())
    result.stats, result.reason = stats["stats"], stats["reason"]
    audit = workdir / "audit-copy"  # made before the tmpfs went away
    result.audit = read_audit(audit)
    return result, audit


def assert_every_fetch_was_allowed_first(web: MockWeb, result: CrawlResult) -> None:
    allowed = {
        r["url"] for r in result.audit if r.get("type") == "decision" and r["decision"] == "allow"
    }
    fetched = {h.url for h in web.hits if h.path not in PREFLIGHTS}
    assert fetched, "the crawl fetched nothing: the test proves nothing"
    assert fetched <= allowed


def test_a_disk_that_fills_up_mid_crawl_stops_it(mockweb: MockWeb, tmp_path: Path) -> None:
    urls = serve_slow_site(mockweb, pages=40)

    result, audit = crawl_on_tmpfs(mockweb, tmp_path / "run", "full:32768", urls)

    assert result.reason == "polite_crawl_audit_failure", result.log
    assert result.returncode != 0, result.log
    assert "the audit log failed, closing the crawl" in result.log
    assert "No space left on device" in result.log
    assert len([h for h in mockweb.hits if h.path not in PREFLIGHTS]) < len(urls)
    assert_every_fetch_was_allowed_first(mockweb, result)
    # On a disk with room again, the next crawl mends the torn tail, and the log verifies.
    again = prepare_crawl(
        mockweb,
        tmp_path / "again",
        urls[:1],
        {"POLITE_CRAWL_PURPOSES": ["research"], "POLITE_CRAWL_AUDIT_DIR": str(audit)},
    )
    subprocess.run(again.cmd, cwd=again.workdir, env=again.env, timeout=120, check=True)
    verified = run_cli("audit", "verify", str(audit))
    assert verified.returncode == 0, verified.stderr


def test_an_evidence_store_that_turns_read_only_mid_crawl_stops_it(
    mockweb: MockWeb, tmp_path: Path
) -> None:
    urls = serve_slow_site(mockweb, pages=20)
    # Found only after the remount: other.test's robots.txt has bytes to keep as evidence.
    mockweb.add(SITE + "/late", Resp(body=page(OTHER + "/x", OTHER + "/y").body, delay=3))
    mockweb.add(OTHER + "/robots.txt", Resp(body="User-agent: *\nDisallow: /private\n"))
    mockweb.add(OTHER + "/x", page())
    mockweb.add(OTHER + "/y", page())

    result, _ = crawl_on_tmpfs(mockweb, tmp_path / "run", "readonly:6", [*urls, SITE + "/late"])

    remounts = (tmp_path / "run" / "remount.txt").read_text()
    assert "evidence: exit 0" in remounts, remounts
    assert result.reason == "polite_crawl_audit_failure", result.log
    assert result.returncode != 0, result.log
    assert "the audit log failed, closing the crawl" in result.log
    assert "Read-only file system" in result.log
    assert mockweb.fetched(OTHER + "/robots.txt")
    pages = [h.url for h in mockweb.hits if h.host == "other.test" and h.path not in PREFLIGHTS]
    assert not pages, "fetched on a robots.txt never recorded"
    assert_every_fetch_was_allowed_first(mockweb, result)


# EIO from fdatasync cannot be had from tmpfs; the crawl process gets it from its own
# os.fdatasync instead (a sitecustomize in the crawl's directory), from the Nth call on.
FAILING_SYNC = """import errno, os
_real, _calls = os.fdatasync, [0]
def fdatasync(fd):
    _calls[0] += 1
    if _calls[0] >= {n}:
        raise OSError(errno.EIO, os.strerror(errno.EIO))
    return _real(fd)
os.fdatasync = fdatasync
# The sync helper runs without the site module (python -s -S), so it would not load this
# file: started plainly here, it does, and its fdatasync fails too.
import polite_crawl.audit.syncer as _helper
_helper.HELPER_FLAGS = ()
"""


# The fallback when the sync helper process cannot start: a worker thread syncs.
NO_HELPER = """
import polite_crawl.audit.syncer as _syncer
def _refuse(self):
    raise _syncer.SyncHelperError(0, "no helper process in this test")
_syncer.SyncHelper.__init__ = _refuse
"""


@pytest.mark.parametrize(
    ("reactor", "syncer"),
    [
        # Requests wait for their batch on asyncio futures under the first, Deferreds under
        # the second: a failed sync must release (and refuse) both. The sync runs in the helper
        # process, or in a thread when no helper could start.
        ("twisted.internet.asyncioreactor.AsyncioSelectorReactor", "helper"),
        ("twisted.internet.epollreactor.EPollReactor", "helper"),
        ("twisted.internet.asyncioreactor.AsyncioSelectorReactor", "thread"),
        ("twisted.internet.epollreactor.EPollReactor", "thread"),
    ],
)
def test_a_failed_sync_stops_the_crawl_before_anything_undurable_is_fetched(
    mockweb: MockWeb, tmp_path: Path, reactor: str, syncer: str
) -> None:
    urls = serve_slow_site(mockweb, pages=40)
    workdir = tmp_path / "run"
    workdir.mkdir()
    code = FAILING_SYNC.format(n=4) + (NO_HELPER if syncer == "thread" else "")
    (workdir / "sitecustomize.py").write_text(code)

    result = run_crawl(
        mockweb,
        workdir,
        urls,
        {"POLITE_CRAWL_PURPOSES": ["research"], "TWISTED_REACTOR": reactor},
        timeout=120,
    )

    assert result.reason == "polite_crawl_audit_failure", result.log
    assert result.returncode != 0, result.log
    assert "cannot sync the audit log" in result.log
    assert ("syncing in a thread" in result.log) == (syncer == "thread")
    for noise in ("Errno 0", "<twisted.python.failure.Failure", "Unhandled error in Deferred"):
        assert noise not in result.log, result.log
    assert len([h for h in mockweb.hits if h.path not in PREFLIGHTS]) < len(urls)
    assert_every_fetch_was_allowed_first(mockweb, result)
