"""Group commit and records nothing waits on (shell/journal.py): a `fetched` record or a refusal
is written at the end of its reactor turn and made durable by the next sync a request waits
for, or LAZY_SYNC_SECONDS later; it costs no fdatasync of its own (#21: each one costs the
kernel CPU). What the server received is the ground truth for what was fetched."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.shell.journal import SYNCS_STAT
from polite_crawl.testing.crawl import run_cli, run_crawl
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from pathlib import Path

SITE = "http://site.test"
SLOW = "http://slow.test"
PAGES = 12
ONE_AT_A_TIME = {"CONCURRENT_REQUESTS": 1, "POLITE_CRAWL_PURPOSES": ["search-indexing"]}


def _served(web: MockWeb, origin: str) -> list[str]:
    return [h.url for h in web.hits if h.url.startswith(origin) and not h.url.endswith(".txt")]


def test_a_fetched_record_rides_with_the_next_allowed_requests_sync(
    mockweb: MockWeb, tmp_path: Path
) -> None:
    # A chain of pages fetched one at a time: each response's `fetched` record is written
    # before the spider's next request is decided, and that request's sync takes it along.
    # With a sync of their own, the crawl made about two syncs a page.
    mockweb.add(SITE + "/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
    for n in range(PAGES):
        links = [f"/p{n + 1}"] if n + 1 < PAGES else []
        mockweb.add(f"{SITE}/p{n}", page(*links))
    result = run_crawl(mockweb, tmp_path / "w", [SITE + "/p0"], ONE_AT_A_TIME)

    served = _served(mockweb, SITE)
    assert len(served) == PAGES
    fetched = [r["url"] for r in result.audit if r["type"] == "fetched"]
    assert sorted(fetched) == sorted(served)  # every page the server sent is in the log
    syncs = result.stat(SYNCS_STAT)
    # One per allowed request, and a few more where a turn's records found no request waiting
    # within LAZY_SYNC_SECONDS (a loaded machine makes more of those): well under the two a
    # page that a sync per turn made.
    assert PAGES <= syncs <= PAGES + PAGES // 2, syncs
    verified = run_cli("audit", "verify", str(tmp_path / "w" / "audit"))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_record_nothing_waits_on_is_synced_within_the_bound(
    mockweb: MockWeb, tmp_path: Path
) -> None:
    # The fast page's `fetched` record is written while the other site's robots.txt takes
    # 0.8 s to answer, and no request is decided meanwhile: the lazy sync takes it on its own,
    # in that gap. Without it, that record would wait for the slow page's allow record.
    mockweb.add(SITE + "/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
    mockweb.add(SLOW + "/robots.txt", Resp(body="User-agent: *\nAllow: /\n", delay=0.8))
    mockweb.add(SITE + "/fast", page())
    mockweb.add(SLOW + "/slow", page())
    settings = {**ONE_AT_A_TIME, "CONCURRENT_REQUESTS": 4}
    result = run_crawl(mockweb, tmp_path / "w", [SITE + "/fast", SLOW + "/slow"], settings)

    assert sorted(_served(mockweb, "http://")) == [SITE + "/fast", SLOW + "/slow"]
    records = [(r["type"], r.get("url")) for r in result.audit if r["type"] != "preflight"]
    assert records[1:4] == [
        ("decision", SITE + "/fast"),
        ("fetched", SITE + "/fast"),
        ("decision", SLOW + "/slow"),
    ]
    # The fast page's allow, the lazy sync of its `fetched` record, the slow page's allow; the
    # slow page's `fetched` record may get one more before the crawl closes (which syncs all).
    assert 3 <= result.stat(SYNCS_STAT) <= 4, result.stat(SYNCS_STAT)
