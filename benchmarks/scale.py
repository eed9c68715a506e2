"""Memory and lookup time of the robots.txt cache with many origins, and its eviction.

    .venv/bin/python -m benchmarks.scale [--origins 100000 1000000] [--mix realistic|unique]

For each N, in a fresh child process each (so that one figure does not disturb the next):

1. fill: N origins recorded into a RobotsStore as a preflight would (unbounded: the bound is
   N), then bytes per cached origin from tracemalloc (Python allocations) and, in a separate
   child without tracemalloc, from the process RSS delta;
2. lookups: median and p99 of get() + match for hot keys (a thousand origins asked again and
   again, their parsed files kept ready) and cold keys (uniformly over all N, most files read
   again from their packed bytes);
3. eviction: the cache bounded to N/10, a stream of 2N requests over the N origins with a
   Zipf-like popularity (a few very busy sites, a long tail). A miss is a preflight (record),
   then the lookup. Hit rate, evictions, and traced memory at each quarter of the stream.

The realistic mix (an assumption, stated in docs/benchmarks.md): 30 % of origins serve one of
four byte-identical platform defaults, 45 % their own file (1-2 groups, 3-15 rules, their own
Sitemap line), 20 % answer 404 with a small page of their own, 5 % are unreachable. `unique`:
every origin serves its own file, the worst case for memory. No Scrapy, no network.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import itertools
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from typing import Any

from polite_crawl.core.context import Origin
from polite_crawl.origin.store import FetchResult
from polite_crawl.robots.reader import RobotsStore

NOW = 1_800_000_000.0
TOKEN = "examplebot"
SHARED = [
    b"User-agent: *\nDisallow:\n",
    b"User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n",
    b"User-agent: *\nDisallow: /cgi-bin/\nDisallow: /tmp/\nDisallow: /junk/\n",
    b"User-agent: *\nCrawl-delay: 10\n"
    + b"".join(
        b"Disallow: /%s/\nDisallow: /?q=%s/\n" % (d, d)
        for d in (b"includes", b"misc", b"modules", b"profiles", b"scripts", b"themes")
    )
    + b"Disallow: /admin/\nDisallow: /comment/reply/\nDisallow: /search/\nDisallow: /user/\n",
]
WORDS = [
    b"admin", b"cart", b"checkout", b"search", b"login", b"account", b"private", b"tmp",
    b"cgi-bin", b"api", b"static/drafts", b"wp-json", b"feed", b"print", b"tag", b"*.pdf$",
    b"*?sessionid=", b"archive", b"beta", b"internal",
]  # fmt: skip
BOTS = [b"googlebot", b"bingbot", b"gptbot", b"ccbot", b"examplebot", b"ahrefsbot"]


def origin(i: int) -> Origin:
    return Origin("https", f"www.site{i}.example", 443)


def robots_for(i: int, mix: str) -> tuple[int | None, bytes]:
    rng = random.Random(i)  # the same origin always serves the same file
    roll = rng.random() if mix == "realistic" else 0.5
    if roll < 0.30:
        return 200, SHARED[i % len(SHARED)]
    if roll < 0.75:
        lines = [b"User-agent: *"]
        rules = rng.randint(3, 15)
        for n in range(rules):
            if n == rules // 2 and rng.random() < 0.3:
                lines += [b"", b"User-agent: " + rng.choice(BOTS)]
            verb = b"Allow" if rng.random() < 0.2 else b"Disallow"
            lines.append(b"%s: /%s/%d" % (verb, rng.choice(WORDS), rng.randint(0, 99)))
        if rng.random() < 0.1:
            lines.append(b"Crawl-delay: %d" % rng.randint(1, 10))
        lines.append(b"Sitemap: https://www.site%d.example/sitemap.xml" % i)
        return 200, b"\n".join(lines) + b"\n"
    if roll < 0.95:
        return 404, b"<html><h1>Not found</h1><p>www.site%d.example</p></html>" % i
    return None, b""


def record(store: RobotsStore, i: int, mix: str) -> None:
    o = origin(i)
    url = o.url("/robots.txt")
    status, body = robots_for(i, mix)
    error = "TimeoutError: timed out" if status is None else None
    store.record(o, FetchResult(url, url, status, body, error=error, fetched_at=NOW))


def lookup(store: RobotsStore, i: int) -> bool:
    """get() + match, as the robots.txt check does; False on a miss."""
    entry = store.get(origin(i))
    if entry is None:
        return False
    rules = entry.rules
    if rules is not None:
        rules.match_path("/private/42/page.html")
    return True


def rss() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: the peak is the best we have
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def fill(n: int, mix: str, traced: bool) -> dict[str, Any]:
    store = RobotsStore(TOKEN, clock=lambda: NOW, max_origins=max(n, 1))
    gc.collect()
    if traced:
        tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0] if traced else rss()
    t0 = time.perf_counter()
    for i in range(n):
        record(store, i, mix)
    seconds = time.perf_counter() - t0
    gc.collect()
    after = tracemalloc.get_traced_memory()[0] if traced else rss()
    out: dict[str, Any] = {
        "bytes_per_origin": (after - before) / n,
        "fill_per_s": n / seconds,
        "distinct_files": len(store.library),
    }
    if not traced:
        out.update(latencies(store, n))
    return out


def latencies(store: RobotsStore, n: int, samples: int = 20_000) -> dict[str, Any]:
    rng = random.Random(7)
    clock = time.perf_counter_ns
    out: dict[str, Any] = {}
    hot = [rng.randrange(n) for _ in range(1000)]
    for name, keys in (
        ("hot", [hot[k % 1000] for k in range(samples)]),
        ("cold", [rng.randrange(n) for _ in range(samples)]),
    ):
        for i in keys[:2000]:  # warm up (the hot set's files are read and kept ready)
            lookup(store, i)
        reads = store.library.reads
        took = []
        for i in keys:
            t0 = clock()
            lookup(store, i)
            took.append(clock() - t0)
        took.sort()
        out[name] = {
            "median_us": statistics.median(took) / 1000,
            "p99_us": took[int(len(took) * 0.99)] / 1000,
            "files_read_per_lookup": (store.library.reads - reads) / len(keys),
        }
    return out


def evict(n: int, mix: str) -> dict[str, Any]:
    bound = max(n // 10, 1)
    store = RobotsStore(TOKEN, clock=lambda: NOW, max_origins=bound)
    rng = random.Random(11)
    weights = list(itertools.accumulate(1.0 / (r + 1) for r in range(n)))  # Zipf, s = 1
    ranks = list(range(n))
    rng.shuffle(ranks)  # popularity unrelated to the origin's number (and its file)
    stream = 2 * n
    hits = 0
    tracemalloc.start()
    memory = []
    t0 = time.perf_counter()
    for k in range(stream):
        i = ranks[bisect.bisect(weights, rng.random() * weights[-1])]
        if lookup(store, i):
            hits += 1
        else:
            record(store, i, mix)
            lookup(store, i)
        if (k + 1) % (stream // 4) == 0:
            memory.append(tracemalloc.get_traced_memory()[0] / 2**20)
    seconds = time.perf_counter() - t0
    return {
        "bound": bound,
        "requests": stream,
        "hit_rate": hits / stream,
        "evictions": store.evictions,
        "cached": len(store),
        "traced_mib_by_quarter": [round(m, 1) for m in memory],
        "requests_per_s": stream / seconds,
    }


def child(args: argparse.Namespace) -> None:
    n = args.origins[0]
    if args.part == "evict":
        result = evict(n, args.mix)
    else:
        result = fill(n, args.mix, traced=args.part == "traced")
    print(json.dumps(result))


def run(part: str, n: int, mix: str) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.scale", "--child", part, "--origins", str(n)]
    done = subprocess.run(
        [*cmd, "--mix", mix], check=True, capture_output=True, text=True, timeout=3600
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--origins", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--mix", choices=["realistic", "unique"], default="realistic")
    parser.add_argument("--child", dest="part", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        child(args)
        return
    print(f"mix: {args.mix}; Python {sys.version.split()[0]}")
    for n in args.origins:
        traced, measured, bounded = (run(p, n, args.mix) for p in ("traced", "rss", "evict"))
        hot, cold = measured["hot"], measured["cold"]
        print(f"\n{n:,} origins ({measured['distinct_files']:,} distinct 2xx files)")
        print(
            f"  bytes per cached origin: {traced['bytes_per_origin']:,.0f} (tracemalloc), "
            f"{measured['bytes_per_origin']:,.0f} (RSS delta)"
        )
        print(f"  fill: {measured['fill_per_s']:,.0f} robots.txt recorded per second")
        for name, lat in (("hot", hot), ("cold", cold)):
            print(
                f"  get()+match, {name} keys: median {lat['median_us']:.1f} us, "
                f"p99 {lat['p99_us']:.1f} us ({lat['files_read_per_lookup']:.2f} files "
                "read per lookup)"
            )
        print(
            f"  bounded to {bounded['bound']:,}: {bounded['requests']:,} Zipf requests, "
            f"hit rate {bounded['hit_rate']:.1%}, {bounded['evictions']:,} evictions, "
            f"{bounded['cached']:,} cached; traced MiB by quarter "
            f"{bounded['traced_mib_by_quarter']}"
        )


if __name__ == "__main__":
    main()
