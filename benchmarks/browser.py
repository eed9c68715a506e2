"""Overhead of the add-on on browser crawls (scrapy-playwright, headless Chromium).

    .venv/bin/python -m benchmarks.browser [--runs 9] [--pages 4] [--images 50] [--aa]

A loopback mock web serves `pages` pages of `images` images each (half from the page's host,
half from a CDN host); each page is rendered in headless Chromium (Debian's `chromium`, through
the mock web's proxy) by scrapy-playwright alone (arm A) and by scrapy-playwright with
polite_crawl.Addon (arm B), alternately, each run a whole crawl process. The figure is the
difference of the median crawl times (Scrapy's `elapsed_time_seconds`: spider open to close,
browser start-up included in both arms) divided by the browser requests of one run: the
overhead per browser request. --aa runs arm A twice, to show how far apart two arms of the same
code come out on this machine. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.crawl_overhead import use_this_checkout
from polite_crawl.testing.crawl import run_crawl
from polite_crawl.testing.mockweb import MockWeb, Resp, page

SITE = "http://gallery.test"
CDN = "http://cdn.test"
# A small real JPEG header: the browser decodes nothing, the bytes only travel.
JPEG = Resp(body=b"\xff\xd8\xff\xe0" + b"\0" * 2048, content_type="image/jpeg")

SPIDER = """
import scrapy


class RunSpider(scrapy.Spider):
    name = "browser_benchmark"

    async def start(self):
        for url in self.settings.getlist("MOCKWEB_START_URLS"):
            yield scrapy.Request(url, meta={"playwright": True})

    def parse(self, response):
        yield {"url": response.url}
"""


def build_web(pages: int, images: int) -> MockWeb:
    web = MockWeb()
    for origin in (SITE, CDN):
        web.add(origin + "/robots.txt", Resp(body="User-agent: *\nDisallow: /never\n"))
    for p in range(pages):
        shown = [
            f"/img/{p}/{i}.jpg" if i % 2 == 0 else f"{CDN}/img/{p}/{i}.jpg" for i in range(images)
        ]
        web.add(f"{SITE}/page{p}", page(images=shown, title=f"Gallery {p}"))
        for src in shown:
            web.add(src if src.startswith("http") else SITE + src, JPEG)
    return web


def arm_settings(web: MockWeb, polite: bool) -> dict[str, Any]:
    handler = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
    settings: dict[str, Any] = {
        "LOG_LEVEL": "WARNING",
        "FEEDS": {},
        "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": shutil.which("chromium"),
            "proxy": {"server": web.proxy_url},
        },
        "DOWNLOAD_TIMEOUT": 60,
    }
    if polite:
        settings["POLITE_CRAWL_PURPOSES"] = ["search-indexing"]
    else:
        settings["ADDONS"] = {}
        settings["ROBOTSTXT_OBEY"] = True
    return settings


def one_run(web: MockWeb, workdir: Path, starts: list[str], polite: bool) -> tuple[float, int]:
    """Seconds from spider open to close, and the requests the server saw."""
    before = len(web.hits)
    result = run_crawl(
        web, workdir, starts, arm_settings(web, polite), spider_code=SPIDER, timeout=600
    )
    if result.returncode != 0 or not result.stats.get("playwright/page_count"):
        raise SystemExit(f"crawl failed:\n{result.log[-3000:]}")
    return float(result.stats["elapsed_time_seconds"]), len(web.hits) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--pages", type=int, default=4)
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument(
        "--aa", action="store_true", help="A/A: both arms run scrapy-playwright alone"
    )
    args = parser.parse_args()
    if shutil.which("chromium") is None:
        raise SystemExit("Debian's chromium is needed: make chromium")
    use_this_checkout()
    first = "scrapy-playwright"
    second = first if args.aa else "scrapy-playwright + polite_crawl"
    labels = {False: first, True: second}
    starts = [f"{SITE}/page{p}" for p in range(args.pages)]
    wall: dict[bool, list[float]] = {False: [], True: []}
    requests: dict[bool, list[int]] = {False: [], True: []}
    with build_web(args.pages, args.images) as web, tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            for arm in (False, True) if i % 2 == 0 else (True, False):
                polite = arm and not args.aa
                seconds, seen = one_run(web, Path(tmp) / f"run{i}-{arm}", starts, polite)
                wall[arm].append(seconds)
                requests[arm].append(seen)
                print(
                    f"run {i + 1} {labels[arm]} ({'B' if arm else 'A'}): {seconds:.2f} s, "
                    f"{seen} requests, load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    base, ours = statistics.median(wall[False]), statistics.median(wall[True])
    # The browser's requests: the pages and their images (the origin files are the gate's).
    browser_requests = args.pages * (1 + args.images)
    pairs = [b - a for a, b in zip(wall[False], wall[True], strict=True)]
    print(
        f"pages per run: {args.pages}, images per page: {args.images}, runs: {args.runs}, "
        f"arms: A {first}, B {second}"
    )
    print(f"median A: {base:.3f} s   median B: {ours:.3f} s   ratio B / A: {ours / base:.3f}")
    print(
        f"per-pair differences (s): median {statistics.median(pairs):.3f}, "
        f"min {min(pairs):.3f}, max {max(pairs):.3f}"
    )
    print(f"server requests per run: A {max(requests[False])}, B {max(requests[True])}")
    print(
        f"overhead per browser request ({browser_requests} per run): "
        f"{(ours - base) / browser_requests * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
