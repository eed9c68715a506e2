"""Fleet-wide pacing on a real redis-server (fleet/pace.py): one request at a time per host for
the whole fleet, each leaving at least the delay after the previous one finished, on Redis's
clock; a dead holder blocks the host only until its turn expires; Redis failing is an error."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import pytest
import redis.asyncio

from polite_crawl.fleet.errors import FleetError
from polite_crawl.fleet.keys import pace_keys
from polite_crawl.fleet.pace import FleetPacer

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from polite_crawl.testing.redisserver import RedisServer

HOST = "site.test"
DELAY = 0.5


def run(url: str, main: Callable[[list[FleetPacer]], Awaitable[Any]], workers: int = 2) -> Any:
    async def go() -> Any:
        pacers = [
            FleetPacer(redis.asyncio.Redis.from_url(url), prefix="t", lease=5.0, timeout=2.0)
            for _ in range(workers)
        ]
        try:
            return await main(pacers)
        finally:
            for pacer in pacers:
                await pacer.client.aclose()

    return asyncio.run(go())


def test_the_next_turn_comes_a_delay_after_the_previous_request_finished(
    redis_server: RedisServer,
) -> None:
    async def main(pacers: list[FleetPacer]) -> tuple[float, float]:
        a, b = pacers
        first = await a.acquire(HOST, DELAY)
        waiting = asyncio.ensure_future(b.acquire(HOST, DELAY))
        await asyncio.sleep(0.3)  # a's request "in flight": b must not get the turn
        assert not waiting.done()
        await a.release(first)
        finished = time.monotonic()
        turn = await waiting
        got = time.monotonic()
        await b.release(turn)
        return finished, got

    finished, got = run(redis_server.url, main)
    assert got - finished >= DELAY - 0.01  # a lower bound: the rule, not a speed


def test_a_host_with_no_record_waits_a_whole_delay_first(redis_server: RedisServer) -> None:
    # After a failover that lost the key, or for a new host: never a burst.
    async def main(pacers: list[FleetPacer]) -> float:
        started = time.monotonic()
        turn = await pacers[0].acquire(HOST, DELAY)
        await pacers[0].release(turn)
        return time.monotonic() - started

    assert run(redis_server.url, main, workers=1) >= DELAY - 0.01


def test_a_dead_holder_blocks_the_host_until_its_turn_expires(redis_server: RedisServer) -> None:
    busy, last = pace_keys("t", HOST)
    redis_server.command("SET", last, "0")
    redis_server.command("SET", busy, "dead-worker", "PX", "1200")

    async def main(pacers: list[FleetPacer]) -> float:
        started = time.monotonic()
        turn = await pacers[0].acquire(HOST, 0.1)
        await pacers[0].release(turn)
        return time.monotonic() - started

    assert run(redis_server.url, main, workers=1) >= 1.0


def test_redis_gone_is_a_fleet_error(redis_server: RedisServer) -> None:
    url = redis_server.url
    redis_server.stop()

    async def main(pacers: list[FleetPacer]) -> None:
        await pacers[0].acquire(HOST, DELAY)

    with pytest.raises(FleetError, match="Redis failed the turn"):
        run(url, main, workers=1)


@pytest.mark.parametrize("reply", [b"soon", -5, 2.5, None])
def test_a_reply_that_is_not_a_wait_is_a_fleet_error(
    redis_server: RedisServer, reply: object
) -> None:
    # A Redis that is not the one the fleet thinks (or a script replaced under its name) can
    # answer anything: it is refused, never read as "go now".
    async def main(pacers: list[FleetPacer]) -> None:
        async def answer(**kwargs: Any) -> object:
            return reply

        pacers[0]._acquire = answer
        await pacers[0].acquire(HOST, DELAY)

    with pytest.raises(FleetError, match="not a wait in ms"):
        run(redis_server.url, main, workers=1)
