"""Decisions per second of the core gate on one core, with warm robots.txt state.

    .venv/bin/python -m benchmarks.gate_throughput [--decisions 200000] [--origins 1000]

No Scrapy, no network: RequestContext -> Gate.decide -> Decision, as the middleware calls it.
Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import time

from polite_crawl.core.checks.robots import RobotsCheck
from polite_crawl.core.checks.scheme import SchemeCheck
from polite_crawl.core.context import Purpose, RequestContext
from polite_crawl.core.gate import Gate, Pending
from polite_crawl.robots.state import FetchResult, RobotsStore

ROBOTS = (
    b"User-agent: *\nDisallow: /private\nDisallow: /*.gif$\nAllow: /private/ok\n"
    b"Disallow: /search?\nCrawl-delay: 1\n\nUser-agent: otherbot\nDisallow: /\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=200_000)
    parser.add_argument("--origins", type=int, default=1000)
    args = parser.parse_args()
    now = time.time()
    store = RobotsStore("examplebot", clock=lambda: now)
    gate = Gate([SchemeCheck(), RobotsCheck(store)])
    purposes = frozenset({Purpose.SEARCH_INDEXING})
    paths = [
        "/",
        "/a/b/c.html",
        "/private/x",
        "/private/ok/1",
        "/img/x.gif",
        "/search?q=1",
        "/caf%C3%A9/menu",
        "/deep/" + "x/" * 20,
    ]
    urls = [f"https://site{o}.test{p}" for o in range(args.origins) for p in paths]
    t0 = time.perf_counter()
    for url in urls[:: len(paths)]:
        ctx = RequestContext.build(url, purposes)
        store.record(ctx.origin, FetchResult(url, url, 200, ROBOTS, fetched_at=now))
    cold = time.perf_counter() - t0
    n = args.decisions
    denied = 0
    t0 = time.perf_counter()
    for i in range(n):
        decision = gate.decide(RequestContext.build(urls[i % len(urls)], purposes))
        assert not isinstance(decision, Pending)
        denied += not decision.allowed
    warm = time.perf_counter() - t0
    print(f"origins: {args.origins}, decisions: {n} ({denied} denied)")
    print(f"cold: {args.origins / cold:,.0f} robots.txt parsed+cached per second")
    print(f"warm: {n / warm:,.0f} decisions per second on one core")


if __name__ == "__main__":
    main()
