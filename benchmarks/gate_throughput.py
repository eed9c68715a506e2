"""Decisions per second of the core gate on one core, with warm robots.txt state.

    .venv/bin/python -m benchmarks.gate_throughput [--decisions 100000] [--rounds 5]
        [--origins 1000]

No Scrapy, no network: RequestContext -> Gate.decide -> Decision, as the middleware calls it;
first with two checks (scheme, robots.txt), then the whole gate as a crawl builds it. Every
decision is for a URL not seen before (a crawl's requests are deduplicated).
Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from typing import TYPE_CHECKING

from polite_crawl.core import assembly
from polite_crawl.core.checks.robots import RobotsCheck
from polite_crawl.core.checks.scheme import SchemeCheck
from polite_crawl.core.config import load
from polite_crawl.core.context import Origin, RequestContext
from polite_crawl.core.gate import Gate, Pending
from polite_crawl.core.purposes import Purpose
from polite_crawl.origin.store import FetchResult
from polite_crawl.robots.reader import RobotsStore

if TYPE_CHECKING:
    from collections.abc import Callable

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


def unique_urls(n: int, origins: int, start: int = 0) -> list[str]:
    """n distinct URLs, as a crawl's deduplicated requests are: no decision repeats an earlier
    one's path, so nothing keyed by path is warm from a previous decision. Origins take turns."""
    return [
        f"https://site{i % origins}.test" + SHAPES[(i // origins) % len(SHAPES)].format(i=i)
        for i in range(start, start + n)
    ]


def rate(decide: Callable[[str], object], urls: list[str]) -> float:
    t0 = time.perf_counter()
    for url in urls:
        decide(url)
    return len(urls) / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=100_000, help="per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--origins", type=int, default=1000)
    args = parser.parse_args()
    now = time.time()
    n, origins = args.decisions, args.origins
    store = RobotsStore("examplebot", clock=lambda: now)
    gate = Gate([SchemeCheck(), RobotsCheck(store)])
    purposes = frozenset({Purpose.SEARCH_INDEXING})
    t0 = time.perf_counter()
    for url in unique_urls(origins, origins):
        ctx = RequestContext.build(url, purposes)
        store.record(ctx.origin, FetchResult(url, url, 200, ROBOTS, fetched_at=now))
    cold = time.perf_counter() - t0
    decider = full_gate(origins, now)

    def robots_only(url: str) -> None:
        decision = gate.decide(RequestContext.build(url, purposes))
        assert not isinstance(decision, Pending)

    def every_check(url: str) -> None:
        decision = decider.decide(decider.context(url))
        assert not isinstance(decision, Pending)

    # Rounds alternate the two gates on fresh URLs; on a shared machine the spread says how
    # much to trust the median.
    rates: dict[str, list[float]] = {"robots": [], "full": []}
    for r in range(args.rounds):
        rates["robots"].append(rate(robots_only, unique_urls(n, origins, 2 * r * n)))
        rates["full"].append(rate(every_check, unique_urls(n, origins, (2 * r + 1) * n)))
    print(f"origins: {origins}, rounds: {args.rounds} x {n:,} decisions on URLs never seen before")
    print(f"cold: {origins / cold:,.0f} robots.txt parsed+cached per second")
    for key, label in (("robots", "scheme + robots.txt"), ("full", "every check, as a crawl")):
        values = rates[key]
        print(
            f"warm: {statistics.median(values):,.0f} decisions per second on one core ({label}; "
            f"rounds {min(values):,.0f}-{max(values):,.0f})"
        )


def full_gate(origins: int, now: float) -> assembly.Decider:
    """The whole gate as the middleware builds it (platform resolution, ToS, identity,
    requirements, signals, robots.txt, Content-Signal, TDMRep, ai.txt), for ai-training: every
    origin-level file is consulted."""
    with tempfile.TemporaryDirectory() as tmp:  # the gate itself writes nothing there
        config = load(
            {
                "POLITE_CRAWL_PURPOSES": ["ai-training"],
                "POLITE_CRAWL_AUDIT_DIR": tmp,
                "USER_AGENT": "examplebot/1.0 (+https://example.test/bot)",
            }
        )
    assert config is not None
    decider = assembly.build(config, clock=lambda: now, persist=False)
    bodies = {"robots": ROBOTS, "tdmrep": TDMREP, "aitxt": AITXT}
    for origin in {Origin.of(u) for u in unique_urls(origins, origins)}:
        for kind, store in decider.files.items():
            file_url = origin.url(store.path)
            store.record(
                origin, FetchResult(file_url, file_url, 200, bodies[kind], fetched_at=now)
            )
    return decider


if __name__ == "__main__":
    main()
