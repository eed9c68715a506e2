"""A fleet of browser crawls (scrapy-playwright, headless Chromium) against one real Redis: the
requests every worker's browser sends keep one host's Crawl-delay, and the fleet-wide host
rate, for the whole fleet. Judged by the mock web's own clock."""

from __future__ import annotations

import itertools
import subprocess
from typing import TYPE_CHECKING

from test_crawl_browser import JPEG, SPIDER, browser_settings, pytestmark
from test_crawl_fleet import fleet_settings

from polite_crawl.testing.crawl import prepare_crawl, run_cli
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from pathlib import Path

    from polite_crawl.testing.redisserver import RedisServer

__all__ = ["pytestmark"]  # the browser tests' skips and timeout, shared

PACED = "http://paced.test"  # Crawl-delay: 0.5
RATED = "http://rated.test"  # no Crawl-delay: the fleet's host rate alone
DELAY = 0.5
RATE = 4
IMAGES = 3
WORKERS = 2
ORIGIN_FILES = ("/robots.txt", "/.well-known/tdmrep.json", "/ai.txt")  # Scrapy's preflights


def test_a_paced_host_is_paced_for_the_whole_fleet_of_browsers(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path
) -> None:
    """Two workers each render both hosts' pages (no shared queue): every document and image
    their browsers send to the paced host arrives one at a time, the Crawl-delay apart; the
    other host gets no more than the fleet's rate."""
    mockweb.add(PACED + "/robots.txt", Resp(body=f"User-agent: *\nCrawl-delay: {DELAY}\n"))
    mockweb.add(RATED + "/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
    for origin in (PACED, RATED):
        mockweb.add(origin + "/p", page(images=[f"/i/{n}.jpg" for n in range(IMAGES)]))
        for n in range(IMAGES):
            mockweb.add(f"{origin}/i/{n}.jpg", JPEG)
    procs = []
    for n in range(WORKERS):
        settings = {
            **browser_settings(mockweb, POLITE_CRAWL_FLEET_HOST_RATE=RATE),
            **fleet_settings(redis_server, n),
            "POLITE_CRAWL_PURPOSES": ["ai-training"],
        }
        prepared = prepare_crawl(
            mockweb, tmp_path / f"w{n}", [PACED + "/p", RATED + "/p"], settings,
            spider_code=SPIDER,
        )  # fmt: skip
        log = tmp_path / f"w{n}.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                prepared.cmd, cwd=prepared.workdir, env=prepared.env,
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        procs.append((proc, log, prepared.audit_dir))
    for proc, log, audit_dir in procs:
        assert proc.wait(timeout=240) == 0, log.read_text()
        assert "playwright/page_count" in log.read_text()
        assert run_cli("audit", "verify", str(audit_dir)).returncode == 0

    def arrivals(host: str) -> list[float]:
        hits = [h for h in mockweb.hits if h.host == host and h.path not in ORIGIN_FILES]
        return sorted(h.at for h in hits)

    paced = arrivals("paced.test")
    assert len(paced) == WORKERS * (1 + IMAGES)  # each worker's browser: the page, its images
    gaps = [b - a for a, b in itertools.pairwise(paced)]
    assert min(gaps) >= DELAY, gaps
    # The host rate: slots granted 1/RATE s apart on Redis's clock (an arrival may lag its
    # grant, so two may arrive closer), never a burst (as tests/test_crawl_fleet.py judges it).
    rated = arrivals("rated.test")
    assert len(rated) == WORKERS * (1 + IMAGES)
    busiest = max(sum(1 for t in rated if s <= t < s + 1.0) for s in rated)
    assert busiest <= RATE + 1, rated
    assert len(rated) - 1 <= RATE * (rated[-1] - rated[0] + 0.5)
