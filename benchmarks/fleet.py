"""A fleet of workers against one process, over the same loopback mock web (issue #17).

    .venv/bin/python -m benchmarks.fleet [--runs 3] [--workers 3] [--hosts 12] [--pages 250]
        [--latency 0.3] [--crawl-delay 0] [--queue host|scrapy-redis]

The mock web has `hosts` sites whose root page links to `pages` pages, each answered after
`latency` seconds (a remote site's round trip; the crawl is then bound by latency, as real
crawls are, not by this machine's two cores). Arms, alternated `runs` times:

- one: a single polite_crawl process crawling every site;
- fleet: `workers` processes on scrapy-redis (one shared queue and dupefilter) in fleet mode
  (POLITE_CRAWL_REDIS_URL) against one redis-server, all started at once.

Each arm is timed as users pay, from the first launch to the last exit. Reported: robots.txt
fetches per origin (the mock web's record), Redis commands per page (the workers' stats), and
throughput per worker against the single process: (pages / fleet time / workers) / (pages /
one time). `--crawl-delay` gives every site a Crawl-delay, to measure the pacing's commands.
Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from polite_crawl.shell.fleet import HOST_QUEUE, SCRAPY_REDIS_QUEUES
from polite_crawl.testing.crawl import prepare_crawl
from polite_crawl.testing.mockweb import MockWeb, Resp, page
from polite_crawl.testing.redisserver import RedisServer


def build_web(hosts: int, pages: int, latency: float, crawl_delay: float) -> MockWeb:
    web = MockWeb()
    robots = "User-agent: *\nAllow: /\n" + (f"Crawl-delay: {crawl_delay}\n" if crawl_delay else "")
    for h in range(hosts):
        origin = f"http://site{h}.test"
        web.add(origin + "/robots.txt", Resp(body=robots, content_type="text/plain"))
        web.add(origin + "/", page(*(f"/p{p}" for p in range(pages))))
        for p in range(pages):
            resp = page()
            resp.delay = latency
            web.add(f"{origin}/p{p}", resp)
    return web


PARK_AFTER: float | None = None  # --park-after: POLITE_CRAWL_FLEET_PARK_AFTER for the fleet
QUEUES = {"host": HOST_QUEUE, "scrapy-redis": SCRAPY_REDIS_QUEUES[0]}
QUEUE = QUEUES["host"]  # --queue: the shared queue's class


def settings(fleet: RedisServer | None, worker: int, control: bool) -> dict[str, Any]:
    """control: scrapy-redis without polite_crawl's fleet mode (the shared queue alone)."""
    base: dict[str, Any] = {
        "POLITE_CRAWL_PURPOSES": ["archiving"],
        "LOG_LEVEL": "WARNING",
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    }
    if fleet is None:
        return base
    if not control:
        base = {
            **base,
            "POLITE_CRAWL_REDIS_URL": fleet.url,
            "POLITE_CRAWL_WORKER_ID": f"w{worker}",
        }
        if PARK_AFTER is not None:
            base["POLITE_CRAWL_FLEET_PARK_AFTER"] = PARK_AFTER
    return {
        **base,
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "REDIS_URL": fleet.url,
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_QUEUE_CLASS": QUEUE,
    }


def run_arm(
    web: MockWeb,
    workdir: Path,
    starts: list[str],
    workers: int,
    fleet: RedisServer | None,
    control: bool = False,
) -> dict[str, Any]:
    web.hits.clear()
    # Each worker starts with its share of the sites (the shared queue spreads the rest): a
    # plain spider on scrapy-redis closes as soon as it finds the queue empty, so a worker
    # whose start URLs the others had already queued would close at once.
    prepared = [
        prepare_crawl(web, workdir / f"w{n}", starts[n::workers], settings(fleet, n, control))
        for n in range(workers)
    ]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            p.cmd, cwd=p.workdir, env=p.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for p in prepared
    ]
    for proc in procs:
        if proc.wait(timeout=3600) != 0:
            raise SystemExit(f"a worker exited with {proc.returncode} in {workdir}")
    elapsed = time.perf_counter() - started
    stats = [json.loads((p.workdir / "stats.json").read_text())["stats"] for p in prepared]
    robots = Counter(h.url for h in web.hits if h.path == "/robots.txt")
    pages = sum(1 for h in web.hits if h.path != "/robots.txt")
    commands = sum(
        s.get("polite_crawl/fleet/redis/origin_files", 0)
        + s.get("polite_crawl/fleet/redis/pacing", 0)
        for s in stats
    )
    return {
        "seconds": elapsed,
        "pages": pages,
        "robots_per_origin": max(robots.values()),
        "redis_per_page": commands / pages if pages else 0.0,
        "pacing_per_page": sum(s.get("polite_crawl/fleet/redis/pacing", 0) for s in stats) / pages,
        "parked_per_page": sum(s.get("polite_crawl/fleet/parked", 0) for s in stats) / pages,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--hosts", type=int, default=12)
    parser.add_argument("--pages", type=int, default=250)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--crawl-delay", type=float, default=0.0)
    parser.add_argument(
        "--control",
        action="store_true",
        help="the fleet arm on scrapy-redis without POLITE_CRAWL_REDIS_URL: how the shared "
        "queue alone scales, to tell it from the cost of polite_crawl's fleet mode",
    )
    parser.add_argument("--park-after", type=float, default=None)
    parser.add_argument(
        "--queue",
        choices=sorted(QUEUES),
        default="host",
        help="the shared queue: polite_crawl's host queue (hosts in turn) or scrapy-redis's own "
        "PriorityQueue (one order for all)",
    )
    args = parser.parse_args()
    global PARK_AFTER, QUEUE
    PARK_AFTER = args.park_after
    QUEUE = QUEUES[args.queue]
    web = build_web(args.hosts, args.pages, args.latency, args.crawl_delay)
    starts = [f"http://site{h}.test/" for h in range(args.hosts)]
    one: list[dict[str, Any]] = []
    fleet: list[dict[str, Any]] = []
    with web, tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            arms = ["one", "fleet"] if run % 2 == 0 else ["fleet", "one"]  # alternate
            for arm in arms:
                workdir = Path(tmp) / f"{arm}{run}"
                if arm == "one":
                    one.append(run_arm(web, workdir, starts, 1, None))
                    continue
                server = RedisServer(workdir / "redis")
                server.start()
                try:
                    fleet.append(run_arm(web, workdir, starts, args.workers, server, args.control))
                finally:
                    server.stop()
                done = (one[-1]["seconds"], fleet[-1]["seconds"])
                print(f"run {run}: one {done[0]:.1f} s, fleet {done[1]:.1f} s")
    t_one = statistics.median(r["seconds"] for r in one)
    t_fleet = statistics.median(r["seconds"] for r in fleet)
    per_worker = [
        o["seconds"] / (args.workers * f["seconds"]) for o, f in zip(one, fleet, strict=True)
    ]
    print(
        json.dumps(
            {
                "pages": one[0]["pages"],
                "one_seconds_median": round(t_one, 2),
                "fleet_seconds_median": round(t_fleet, 2),
                "throughput_per_worker_vs_one": round(t_one / (args.workers * t_fleet), 3),
                "per_pair": [round(x, 3) for x in per_worker],
                "robots_per_origin_fleet": max(r["robots_per_origin"] for r in fleet),
                "redis_commands_per_page": round(
                    statistics.median(r["redis_per_page"] for r in fleet), 3
                ),
                "pacing_commands_per_page": round(
                    statistics.median(r["pacing_per_page"] for r in fleet), 3
                ),
                "sent_back_per_page": round(
                    statistics.median(r["parked_per_page"] for r in fleet), 3
                ),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
