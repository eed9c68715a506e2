"""Decisions per second of the core gate on one core, with warm robots.txt state.

    .venv/bin/python -m benchmarks.gate_throughput [--decisions 200000] [--origins 1000]

No Scrapy, no network: RequestContext -> Gate.decide -> Decision, as the middleware calls it;
first with two checks (scheme, robots.txt), then the whole gate as a crawl builds it. Every
decision is for a URL not seen before (a crawl's requests are deduplicated).
Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from polite_crawl import gatekeeper
from polite_crawl.core.checks.robots import RobotsCheck
from polite_crawl.core.checks.scheme import SchemeCheck
from polite_crawl.core.context import Origin, Purpose, RequestContext
from polite_crawl.core.gate import Gate, Pending
from polite_crawl.robots.state import FetchResult, RobotsStore
from polite_crawl.startup import load

ROBOTS = (
    b"User-agent: *\nDisallow: /private\nDisallow: /*.gif$\nAllow: /private/ok\n"
    b"Disallow: /search?\nCrawl-delay: 1\n\nUser-agent: otherbot\nDisallow: /\n"
)

TDMREP = (
    b'[{"location": "/private/", "tdm-reservation": 1}, {"location": "/", "tdm-reservation": 0}]'
)
AITXT = b"User-agent: *\nDisallow: *.gif\n"


SHAPES = (
    "/{i}",
    "/a/b/c{i}.html",
    "/private/x{i}",
    "/private/ok/{i}",
    "/img/x{i}.gif",
    "/search?q={i}",
    "/caf%C3%A9/menu{i}",
    "/deep/" + "x/" * 20 + "{i}",
    "/a/./b/../c{i}/",
)


def unique_urls(n: int, origins: int) -> list[str]:
    """n distinct URLs, as a crawl's deduplicated requests are: no decision repeats an earlier
    one's path, so nothing keyed by path is warm from a previous decision. Origins take turns."""
    return [
        f"https://site{i % origins}.test" + SHAPES[(i // origins) % len(SHAPES)].format(i=i)
        for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=200_000)
    parser.add_argument("--origins", type=int, default=1000)
    args = parser.parse_args()
    now = time.time()
    store = RobotsStore("examplebot", clock=lambda: now)
    gate = Gate([SchemeCheck(), RobotsCheck(store)])
    purposes = frozenset({Purpose.SEARCH_INDEXING})
    n = args.decisions
    urls = unique_urls(n, args.origins)
    t0 = time.perf_counter()
    for url in urls[: args.origins]:
        ctx = RequestContext.build(url, purposes)
        store.record(ctx.origin, FetchResult(url, url, 200, ROBOTS, fetched_at=now))
    cold = time.perf_counter() - t0
    denied = 0
    t0 = time.perf_counter()
    for url in urls:
        decision = gate.decide(RequestContext.build(url, purposes))
        assert not isinstance(decision, Pending)
        denied += not decision.allowed
    warm = time.perf_counter() - t0
    print(f"origins: {args.origins}, decisions: {n} ({denied} denied)")
    print(f"cold: {args.origins / cold:,.0f} robots.txt parsed+cached per second")
    print(f"warm: {n / warm:,.0f} decisions per second on one core (scheme + robots.txt)")
    full = full_gate(urls, n, now)
    print(f"warm: {full:,.0f} decisions per second on one core (every check, as a crawl runs it)")


def full_gate(urls: list[str], n: int, now: float) -> float:
    """The whole gate as the middleware builds it (platform resolution, ToS, identity,
    requirements, signals, robots.txt, Content-Signal, TDMRep, ai.txt), for ai-training: every
    origin-level file is consulted."""
    with tempfile.TemporaryDirectory() as tmp:
        config = load(
            {
                "POLITE_CRAWL_PURPOSES": ["ai-training"],
                "POLITE_CRAWL_AUDIT_DIR": tmp,
                "USER_AGENT": "examplebot/1.0 (+https://example.test/bot)",
            }
        )
        assert config is not None
        keeper = gatekeeper.build(config, clock=lambda: now, persist=False)
        bodies = {"robots": ROBOTS, "tdmrep": TDMREP, "aitxt": AITXT}
        for origin in {Origin.of(u) for u in urls}:
            for kind, store in keeper.files.items():
                file_url = origin.url(store.path)
                store.record(
                    origin, FetchResult(file_url, file_url, 200, bodies[kind], fetched_at=now)
                )
        t0 = time.perf_counter()
        for url in urls:
            decision = keeper.decide(keeper.context(url))
            assert not isinstance(decision, Pending)
        return n / (time.perf_counter() - t0)


if __name__ == "__main__":
    main()
