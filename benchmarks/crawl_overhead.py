"""Crawl overhead of the add-on against Scrapy's own robots.txt handling.

    .venv/bin/python -m benchmarks.crawl_overhead [--runs 9] [--hosts 20] [--pages 150]
        [--page-kib 0] [--durability fsync|none] [--baseline CHECKOUT [--aa]] [--web-bot-auth]

A loopback mock web of `hosts` sites with `pages` pages each (every page links to the next two,
every site has a robots.txt that disallows one path; --page-kib fills each page with text to
a realistic size) is crawled alternately by plain Scrapy with
ROBOTSTXT_OBEY and by Scrapy with polite_crawl.Addon. The figure is the ratio of the medians of
Scrapy's own `elapsed_time_seconds` (process start-up excluded); the spread of the per-pair
ratios says how noisy the machine was, and the ratio of the CPU seconds of the same window
(benchmarks/cpuclock.py) how much work the add-on added. Beside them, what a user pays: the
whole processes, timed from launch to exit (wall) and by their rusage with every process they
started (CPU), as per-pair ratios and as microseconds per page of the B arm over the A arm.
Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import compileall
import functools
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.cpuclock import STAT as CPU_STAT
from polite_crawl.testing.crawl import run_crawl
from polite_crawl.testing.mockweb import MockWeb, Resp, page

ROBOTS = "User-agent: *\nDisallow: /never\n"
# What a real page carries around its links: the usual head, then paragraphs of text.
HEAD = (
    '<meta charset="utf-8"><meta name="viewport" content="width=device-width">'
    '<meta name="description" content="A page of the benchmark web">'
    '<meta property="og:title" content="Benchmark"><link rel="stylesheet" href="/site.css">'
)
PARAGRAPH = (
    "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. <em>Ut enim</em> ad minim veniam.</p>\n"
)


def filled_page(links: list[str], kib: int) -> Resp:
    """A page linking to links; with kib > 0, filled with text to about kib KiB of HTML."""
    if not kib:
        return page(*links)
    text = PARAGRAPH * max(1, kib * 1024 // len(PARAGRAPH))
    resp = page(*links, head=HEAD, title="Benchmark page")
    html = resp.data().decode()
    return Resp(body=html.replace("<body>\n", "<body>\n" + text, 1))


def build_web(hosts: int, pages: int, page_kib: int = 0) -> MockWeb:
    web = MockWeb()
    for h in range(hosts):
        origin = f"http://site{h}.test"
        web.add(origin + "/robots.txt", Resp(body=ROBOTS, content_type="text/plain"))
        for p in range(pages):
            links = [f"/p{q}" for q in (p + 1, p + 2) if q < pages] + ["/never"]
            web.add(f"{origin}/p{p}", filled_page(links, page_kib))
    return web


SETTINGS: dict[str, Any] = {
    "LOG_LEVEL": "WARNING",
    "CONCURRENT_REQUESTS": 32,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "FEEDS": {},
}
EXTENSIONS = {
    "polite_crawl.testing.statsfile.StatsFile": 0,
    "benchmarks.cpuclock.CpuClock": 0,
}


def arm_settings(polite: bool, durability: str = "fsync", signed: bool = False) -> dict[str, Any]:
    """The settings of one arm: plain Scrapy with ROBOTSTXT_OBEY, or Scrapy with the add-on."""
    settings = dict(SETTINGS, EXTENSIONS=EXTENSIONS)
    if polite:
        settings["POLITE_CRAWL_PURPOSES"] = ["search-indexing"]
        settings["POLITE_CRAWL_AUDIT_DURABILITY"] = durability
        if signed:
            settings["POLITE_CRAWL_WEB_BOT_AUTH"] = True
            settings["POLITE_CRAWL_SIGNATURE_AGENT"] = "https://crawler.example"
    else:
        settings["ADDONS"] = {}
        settings["ROBOTSTXT_OBEY"] = True
    return settings


THIS_CHECKOUT = str(Path(__file__).resolve().parent.parent)


def use_this_checkout(root: str = THIS_CHECKOUT) -> None:
    """The crawl processes load polite_crawl and the CPU clock extension from this checkout (or
    from root: another checkout's add-on, for a before/after comparison)."""
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    rest = [p for p in rest if p not in (THIS_CHECKOUT, root)]
    os.environ["PYTHONPATH"] = os.pathsep.join([root, THIS_CHECKOUT, *rest])
    for checkout in dict.fromkeys((root, THIS_CHECKOUT)):
        compile_bytecode(checkout)


@functools.cache  # once per checkout: crawl_overhead calls use_this_checkout before each run
def compile_bytecode(checkout: str) -> None:
    """Write the bytecode of a checkout's polite_crawl and benchmarks, as `pip install` does for
    an installed package. A source checkout has none until a first run writes it, and none at
    all where PYTHONDONTWRITEBYTECODE is set (as on some CI and sandbox machines): every crawl
    would then compile the add-on's ~130 modules again, about 0.1 s of CPU a crawl that no
    installed add-on costs its user. (Scrapy and the other dependencies are installed: theirs is
    written.)"""
    for package in ("polite_crawl", "benchmarks"):
        path = Path(checkout) / package
        if path.is_dir() and not compileall.compile_dir(path, quiet=1):
            raise SystemExit(f"cannot compile {path}")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(
    web: MockWeb,
    workdir: Path,
    starts: list[str],
    polite: bool,
    durability: str = "fsync",
    signed: bool = False,
) -> tuple[float, float, float, float]:
    """Wall seconds and CPU seconds of one crawl (spider open to close), the CPU seconds
    of the whole crawl process with its start-up and any process it started (the audit sync
    helper), and the wall seconds of that process from launch to exit."""
    before = _children_cpu()
    launched = time.perf_counter()
    result = run_crawl(web, workdir, starts, arm_settings(polite, durability, signed), timeout=600)
    whole_wall = time.perf_counter() - launched
    if result.returncode != 0:
        raise SystemExit(f"crawl failed:\n{result.log[-3000:]}")
    whole = _children_cpu() - before
    return (
        float(result.stats["elapsed_time_seconds"]),
        float(result.stats[CPU_STAT]),
        whole,
        whole_wall,
    )


def _pairs(arms: dict[bool, list[float]]) -> list[tuple[float, float]]:
    """The runs of arm A and arm B, pair by pair (run i of each, alternated)."""
    return list(zip(arms[False], arms[True], strict=True))


def _spread(values: list[float]) -> str:
    qs = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    return (
        f"median {statistics.median(values):.3f}, min {min(values):.3f}, "
        f"quartiles {qs[0]:.3f}-{qs[2]:.3f}, max {max(values):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--pages", type=int, default=150)
    parser.add_argument(
        "--page-kib",
        type=int,
        default=0,
        help="fill every page with text to about this many KiB of HTML (0: links only)",
    )
    parser.add_argument(
        "--web-bot-auth",
        action="store_true",
        help="arm B signs every request (POLITE_CRAWL_WEB_BOT_AUTH); with --baseline . the "
        "A/B is the cost of signing",
    )
    parser.add_argument(
        "--durability",
        choices=["fsync", "none"],
        default="fsync",
        help="POLITE_CRAWL_AUDIT_DURABILITY for the add-on's runs",
    )
    parser.add_argument(
        "--baseline",
        metavar="CHECKOUT",
        help="the first arm is the add-on of another checkout (e.g. a git worktree of an earlier "
        "commit) instead of ROBOTSTXT_OBEY: a before/after comparison of the add-on",
    )
    parser.add_argument(
        "--aa",
        action="store_true",
        help="A/A: both arms run the first arm's crawl, to show how far apart two arms of the "
        "same code come out on this machine",
    )
    args = parser.parse_args()
    first = "baseline add-on" if args.baseline else "ROBOTSTXT_OBEY"
    second = first if args.aa else "polite_crawl"
    if args.web_bot_auth and not args.aa:
        second = "polite_crawl, signed"
    labels = {False: first, True: second}
    # Which checkout each arm loads polite_crawl from, and whether it runs the add-on.
    roots = {False: args.baseline or THIS_CHECKOUT, True: THIS_CHECKOUT}
    if args.aa:
        roots[True] = roots[False]
    polite_arm = {False: bool(args.baseline), True: bool(args.baseline) or not args.aa}
    starts = [f"http://site{h}.test/p0" for h in range(args.hosts)]
    wall: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    whole: dict[bool, list[float]] = {False: [], True: []}
    whole_wall: dict[bool, list[float]] = {False: [], True: []}
    with (
        build_web(args.hosts, args.pages, args.page_kib) as web,
        tempfile.TemporaryDirectory() as tmp,
    ):
        for i in range(args.runs):
            for polite in (False, True) if i % 2 == 0 else (True, False):
                hits_before = len(web.hits)
                use_this_checkout(roots[polite])
                seconds, cpu_seconds, whole_seconds, launch_to_exit = one_run(
                    web,
                    Path(tmp) / f"run{i}-{polite}",
                    starts,
                    polite_arm[polite],
                    args.durability,
                    signed=polite and args.web_bot_auth and not args.aa,
                )
                wall[polite].append(seconds)
                cpu[polite].append(cpu_seconds)
                whole[polite].append(whole_seconds)
                whole_wall[polite].append(launch_to_exit)
                print(
                    f"run {i + 1} {labels[polite]} ({'B' if polite else 'A'}): "
                    f"{seconds:.2f} s, CPU {cpu_seconds:.2f} s, whole process "
                    f"{launch_to_exit:.2f} s / CPU {whole_seconds:.2f} s, "
                    f"{len(web.hits) - hits_before} requests, load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    base, ours = statistics.median(wall[False]), statistics.median(wall[True])
    base_cpu, ours_cpu = statistics.median(cpu[False]), statistics.median(cpu[True])
    pairs = [b / a for a, b in _pairs(wall)]
    print(
        f"pages per run: {args.hosts * args.pages}, hosts: {args.hosts}, runs: {args.runs}, "
        f"page size: {f'{args.page_kib} KiB' if args.page_kib else 'links only'}, "
        f"audit durability: {args.durability}, arms: A {first}, B {second}"
        + (f" (baseline {args.baseline})" if args.baseline else "")
    )
    print(f"median A: {base:.2f} s   median B: {ours:.2f} s")
    print(f"per-pair wall-time ratios: {_spread(pairs)}")
    print(f"median CPU seconds: {base_cpu:.2f} / {ours_cpu:.2f}, ratio {ours_cpu / base_cpu:.3f}")
    base_whole, ours_whole = statistics.median(whole[False]), statistics.median(whole[True])
    print(
        f"median CPU seconds of the whole processes (start-up and sync helper included): "
        f"{base_whole:.2f} / {ours_whole:.2f}, ratio {ours_whole / base_whole:.3f}"
    )
    _whole_process(whole_wall, whole, args.hosts * args.pages)
    print(f"ratio B / A ({second} / {first}): {ours / base:.3f}")


def _whole_process(
    wall: dict[bool, list[float]], cpu: dict[bool, list[float]], pages: int
) -> None:
    """What a user pays: whole processes, launch to exit, as per-pair ratios (alternation
    cancels the machine's drift) and as microseconds per page of B over A."""
    for name, seconds in (("wall", wall), ("CPU", cpu)):
        pairs = [b / a for a, b in _pairs(seconds)]
        extra = [(b - a) / pages * 1e6 for a, b in _pairs(seconds)]
        print(
            f"whole processes, {name}: per-pair ratios {_spread(pairs)}; B - A per page: "
            f"median {statistics.median(extra):.0f} us"
        )


if __name__ == "__main__":
    main()
