"""What a fleet keeps in Redis per origin and per paced host (issue #17: how fleet mode scales).

    .venv/bin/python -m benchmarks.fleet_redis [--origins 20000] [--robots-bytes 1200]

Against one redis-server of its own, through the same code the workers run
(fleet/origins.py, fleet/pace.py): each origin's robots.txt fetched once and published (the
result hash, the fencing counter; the lease is deleted on publish), and each origin's host paced
once (take the turn, give it back: the `last` stamp stays). Reported: keys per origin, Redis
memory per origin (`used_memory` before and after, and `MEMORY USAGE` of one origin's keys),
and the extrapolation to 10^6 origins. Memory is a count, not a timing: this may run on a busy
machine. Results: docs/benchmarks.md and docs/fleet.md.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

from polite_crawl.fleet.keys import origin_file_keys, pace_keys
from polite_crawl.fleet.origins import SharedOriginFiles
from polite_crawl.fleet.pace import FleetPacer
from polite_crawl.origin.fetch import FetchResult
from polite_crawl.testing.redisserver import RedisServer

PREFIX = "polite_crawl"


def robots_body(size: int) -> bytes:
    lines = ["User-agent: *", "Disallow: /private/", "Crawl-delay: 1"]
    body = "\n".join(lines) + "\n"
    while len(body) < size:
        body += f"Disallow: /path-{len(body)}/\n"
    return body[:size].encode()


async def fill(client: Any, origins: int, body: bytes) -> None:
    files = SharedOriginFiles(
        client, prefix=PREFIX, worker="bench-worker-1", lease=30, wait=90, timeout=5
    )
    pacer = FleetPacer(client, prefix=PREFIX, lease=30, timeout=5)

    async def one(n: int) -> None:
        origin = f"https://site{n}.example.org:443"
        url = origin + "/robots.txt"

        async def fetch() -> FetchResult:
            return FetchResult(url, url, 200, body, None, 0, None, 1_765_000_000.0)

        await files.obtain("robots", origin, url, 500_000, fetch, lambda _r: 86_400.0)
        turn = await pacer.acquire(f"site{n}.example.org", 0.001)
        await pacer.release(turn)

    batch = 50
    for start in range(0, origins, batch):
        await asyncio.gather(*(one(n) for n in range(start, min(origins, start + batch))))


async def main_async(args: argparse.Namespace) -> None:
    import redis.asyncio

    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp) / "redis")
        server.start()
        try:
            client = redis.asyncio.Redis.from_url(server.url)
            before = int((await client.info("memory"))["used_memory"])
            await fill(client, args.origins, robots_body(args.robots_bytes))
            after = int((await client.info("memory"))["used_memory"])
            keys = await client.dbsize()
            one = [
                *origin_file_keys(PREFIX, "robots", "https://site0.example.org:443"),
                *pace_keys(PREFIX, "site0.example.org"),
            ]
            usage = {k: await client.memory_usage(k) for k in one}
            await client.aclose()
        finally:
            server.stop()
    per_origin = (after - before) / args.origins
    print(f"origins: {args.origins}, robots.txt body: {args.robots_bytes} bytes")
    print(f"keys: {keys} ({keys / args.origins:.2f} per origin)")
    for key, used in usage.items():
        print(f"  {key}: {used if used is not None else '(none)'} bytes")
    print(f"used_memory: {per_origin:.0f} bytes per origin")
    print(f"10^6 origins: {per_origin * 1e6 / 2**30:.2f} GiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--origins", type=int, default=20_000)
    parser.add_argument("--robots-bytes", type=int, default=1200)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
