"""The HTML report answers what a platform's trust-and-safety team asks first (issue #20): what
was fetched (paths grouped, counts, bytes), how fast each host was asked against the
Crawl-delay in force, what was refused (distinct URLs, the refused ones shown), what was
dropped, who crawled (runs of one identity as one row); and no "None" row for an origin file
that is not robots.txt. Read as a person sees it: the page rendered in headless Chromium, a
screenshot taken and the DOM read after layout."""

from __future__ import annotations

import re
import struct
from typing import TYPE_CHECKING

import pytest

from polite_crawl.testing.chromium import render_in_chromium
from polite_crawl.testing.crawl import run_cli
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from polite_crawl.testing.crawl import CrawlResult

SITE = "http://site.test"
RESERVED = '<meta name="tdm-reservation" content="1">'


@pytest.fixture
def report(mockweb: MockWeb, crawl: Callable[..., CrawlResult], tmp_path: Path) -> Path:
    mockweb.add(
        SITE + "/robots.txt",
        Resp(body="User-agent: *\nCrawl-delay: 0.2\nDisallow: /private\n"),
    )
    # /.well-known/tdmrep.json and /ai.txt answer 404: their preflight rows were "None".
    mockweb.add(SITE + "/", page("/news/a", "/news/b", "/private/x", "/private/y", "/reserved"))
    mockweb.add(SITE + "/news/a", page())
    mockweb.add(SITE + "/news/b", page())
    mockweb.add(SITE + "/reserved", page(head=RESERVED))  # its item is dropped
    audit = tmp_path / "audit"
    settings = {
        "POLITE_CRAWL_PURPOSES": ["research"],
        "POLITE_CRAWL_CONTACT": "mailto:crawler@example.org",
        "POLITE_CRAWL_AUDIT_DIR": str(audit),
    }
    for _ in range(2):  # two runs, one identity: one row; the same refusals twice
        result = crawl([SITE + "/"], settings)
        assert result.returncode == 0, result.log
    out = tmp_path / "report.html"
    made = run_cli("audit", "report", "--platform", "_sites", "-o", str(out), str(audit))
    assert made.returncode == 0, made.stderr
    return out


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def test_the_report_in_chromium_shows_refused_urls_and_no_none_row(
    report: Path, tmp_path: Path
) -> None:
    shot = tmp_path / "report.png"

    dom = render_in_chromium(report, screenshot=shot)

    assert png_size(shot) == (1200, 3000)
    assert ">None<" not in dom  # no origin-file row, contact or cell reads "None"
    refused = dom.split("What was refused", 1)[1].split("Items dropped", 1)[0]
    for url in (SITE + "/private/x", SITE + "/private/y"):
        assert refused.count(url) == 1, refused  # each once, though refused in both runs
    assert SITE + "/.well-known/tdmrep.json" in dom  # the row that was "None"


def test_the_report_groups_paths_runs_and_shows_pace_and_dropped_items(report: Path) -> None:
    dom = render_in_chromium(report)

    fetched = dom.split("What was fetched", 1)[1].split("How fast", 1)[0]
    assert re.search(r"<code>/news/\*</code></td><td class=\"num\">4</td>", fetched), fetched
    who = dom.split("Who crawled", 1)[1].split("What was fetched", 1)[0]
    assert who.count("mailto:crawler@example.org") == 1  # two runs, one identity: one row
    assert re.search(r'<td class="num">2</td>', who), who
    pace = dom.split("How fast", 1)[1].split("What was refused", 1)[0]
    assert "0.2 s (robots.txt Crawl-delay)" in pace
    assert 'class="ok">kept</span>' in pace
    dropped = dom.split("Items dropped", 1)[1].split("Over time", 1)[0]
    assert "tdmrep.reserved" in dropped
    assert SITE + "/reserved" in dropped
