"""Origin files shared by a fleet through a real redis-server (fleet/origins.py): fetched once
for the fleet, a dead holder's lease taken over after it expires, a late publisher fenced
off, and every Redis failure or unusable reply a FleetError (the requests waiting are refused).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
import redis.asyncio

from polite_crawl.fleet.errors import FleetError
from polite_crawl.fleet.keys import origin_file_keys
from polite_crawl.fleet.origins import SharedOriginFiles
from polite_crawl.origin.fetch import FetchResult

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from polite_crawl.testing.redisserver import RedisServer

ORIGIN = "http://site.test:80"
URL = ORIGIN + "/robots.txt"
PREFIX = "t"
BODY = b"User-agent: *\nDisallow: /private\nCrawl-delay: 2\n"


OPEN: list[SharedOriginFiles] = []


def shared(url: str, worker: str, **kwargs: Any) -> SharedOriginFiles:
    options = {"lease": 5.0, "wait": 10.0, "timeout": 2.0, **kwargs}
    files = SharedOriginFiles(
        redis.asyncio.Redis.from_url(url), prefix=PREFIX, worker=worker, **options
    )
    OPEN.append(files)
    return files


def run(main: Callable[[], Awaitable[Any]]) -> Any:
    """asyncio.run(main()), closing the clients it opened before the loop ends."""

    async def closing() -> Any:
        try:
            return await main()
        finally:
            while OPEN:
                await OPEN.pop().client.aclose()

    return asyncio.run(closing())


def fetcher(
    calls: list[str], worker: str, delay: float = 0.2
) -> Callable[[], Awaitable[FetchResult]]:
    async def fetch() -> FetchResult:
        calls.append(worker)
        await asyncio.sleep(delay)
        return FetchResult(URL, URL, 200, BODY, fetched_at=1_790_000_000.0)

    return fetch


def obtain(files: SharedOriginFiles, calls: list[str], worker: str) -> Awaitable[Any]:
    return files.obtain("robots", ORIGIN, URL, 1 << 20, fetcher(calls, worker), lambda r: 60.0)


def test_one_fetch_for_the_fleet(redis_server: RedisServer) -> None:
    async def main() -> list[Any]:
        workers = [shared(redis_server.url, f"w{n}") for n in range(3)]
        calls: list[str] = []
        got = await asyncio.gather(*(obtain(w, calls, w.worker) for w in workers))
        assert len(calls) == 1
        return got

    got = run(main)
    assert [g.here for g in got].count(True) == 1
    assert {g.result.body for g in got} == {BODY}
    assert len({(g.fence, g.worker) for g in got}) == 1  # one fetch, one fencing number
    # Published with the cache lifetime the fetching worker computed (60 s here).
    ttl = redis_server.command("PTTL", origin_file_keys(PREFIX, "robots", ORIGIN).result)
    assert 50_000 < int(ttl.strip().lstrip(b":")) <= 60_000
    # The fencing counter expires too (a week after the day a result may live): an origin no
    # longer crawled leaves no key behind.
    fence = redis_server.command("PTTL", origin_file_keys(PREFIX, "robots", ORIGIN).fence)
    assert 7 * 86_400_000 < int(fence.strip().lstrip(b":")) <= 8 * 86_400_000


def test_a_dead_holder_delays_the_origin_by_at_most_its_lease(
    redis_server: RedisServer,
) -> None:
    keys = origin_file_keys(PREFIX, "robots", ORIGIN)
    # A worker took the lease for 1.5 s and died: no result will come.
    redis_server.command("SET", keys.lease, "dead-worker", "PX", "1500")

    async def main() -> tuple[Any, float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        calls: list[str] = []
        got = await obtain(shared(redis_server.url, "w1"), calls, "w1")
        assert calls == ["w1"]
        return got, loop.time() - started

    got, waited = run(main)
    assert got.here
    assert waited > 1.0  # it waited for the lease (no timing upper bound asserted)


def test_no_result_within_the_wait_is_a_fleet_error(redis_server: RedisServer) -> None:
    keys = origin_file_keys(PREFIX, "robots", ORIGIN)
    redis_server.command("SET", keys.lease, "slow-worker", "PX", "60000")

    async def main() -> None:
        await obtain(shared(redis_server.url, "w1", wait=1.0), [], "w1")

    with pytest.raises(FleetError, match=r"no worker published .* within 1\.0 s"):
        run(main)


def test_a_late_publisher_is_fenced_off(redis_server: RedisServer) -> None:
    async def main() -> None:
        keys = origin_file_keys(PREFIX, "robots", ORIGIN)
        slow = shared(redis_server.url, "slow", lease=1.0)
        fast = shared(redis_server.url, "fast")
        calls: list[str] = []
        # slow takes the lease and fetches for 2 s: its lease runs out; fast takes it over.
        first = asyncio.ensure_future(
            slow.obtain("robots", ORIGIN, URL, 1 << 20, fetcher(calls, "slow", 2.0), lambda r: 60)
        )
        await asyncio.sleep(1.3)
        second = await obtain(fast, calls, "fast")
        late = await first
        assert calls == ["slow", "fast"]
        assert late.here
        assert second.here
        assert second.fence == late.fence + 1
        fields = await fast.client.hgetall(keys.result)
        assert fields[b"worker"] == b"fast"  # slow's publish was refused

    run(main)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("robots_url", "http://other.test:80/robots.txt", "holds the fetch of"),
        ("status", "7000", "is not an HTTP status"),
        ("fetched_at", "nan", "is out of range"),
        ("body", "x" * 2000, "over the 1024-byte limit"),
        ("status", "", "neither a status nor an error"),
    ],
)
def test_an_unusable_published_fetch_is_a_fleet_error(
    redis_server: RedisServer, field: str, value: str, message: str
) -> None:
    keys = origin_file_keys(PREFIX, "robots", ORIGIN)
    good = {
        "robots_url": URL, "final_url": URL, "status": "200", "body": "User-agent: *\n",
        "error": "", "hops": "0", "max_age": "", "fetched_at": "1790000000.0", "fence": "1",
        "worker": "w0",
    }  # fmt: skip
    good[field] = value
    redis_server.command("HSET", keys.result, *[x for kv in good.items() for x in kv])

    async def main() -> None:
        files = shared(redis_server.url, "w1")
        await files.obtain("robots", ORIGIN, URL, 1024, fetcher([], "w1"), lambda r: 60.0)

    with pytest.raises(FleetError, match=message) as caught:
        run(main)
    assert keys.result in str(caught.value)


def test_redis_gone_is_a_fleet_error(redis_server: RedisServer) -> None:
    url = redis_server.url
    redis_server.stop()

    async def main() -> None:
        await obtain(shared(url, "w1"), [], "w1")

    with pytest.raises(FleetError, match="Redis failed"):
        run(main)


def test_a_fetch_published_between_the_look_and_the_lease_is_used(
    redis_server: RedisServer,
) -> None:
    # The race a crawl met: a worker finds no result, the holder publishes and lets the lease
    # go, then the worker takes the free lease. Its first look is made to miss here (the real
    # server cannot stop time between two commands); the lease script must see the result.
    async def main() -> None:
        first = shared(redis_server.url, "w1")
        calls: list[str] = []
        await obtain(first, calls, "w1")
        late = shared(redis_server.url, "w2")
        real = late.client.hgetall
        looks = 0

        async def missing_once(key: str) -> Any:
            nonlocal looks
            looks += 1
            return {} if looks == 1 else await real(key)

        late.client.hgetall = missing_once
        got = await obtain(late, calls, "w2")
        assert calls == ["w1"]
        assert not got.here
        assert (got.worker, got.fence, looks) == ("w1", 1, 2)

    run(main)
