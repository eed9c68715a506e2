"""The fleet-wide host rate on a real redis-server (fleet/rate.py): slots granted one interval
apart on Redis's clock, whichever worker asks; a slot further away than the caller's patience
is TurnLater; Redis failing, or answering something that is not a wait, is a FleetError."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
import redis.asyncio

from polite_crawl.fleet.errors import FleetError
from polite_crawl.fleet.pace import TurnLater
from polite_crawl.fleet.rate import FleetRate

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from polite_crawl.testing.redisserver import RedisServer

HOST = "site.test"


def run(url: str, main: Callable[[list[FleetRate]], Awaitable[Any]], workers: int = 3) -> Any:
    async def go() -> Any:
        clients = [redis.asyncio.Redis.from_url(url) for _ in range(workers)]
        rates = [FleetRate(c, prefix="t", rate=5.0, timeout=2.0) for c in clients]
        try:
            return await main(rates)
        finally:
            for client in clients:
                await client.aclose()

    return asyncio.run(go())


def test_slots_are_granted_one_interval_apart_for_the_fleet(redis_server: RedisServer) -> None:
    # Six takes by three workers at 5 a second: the last is granted no sooner than five
    # intervals after the first (a lower bound: a slow machine only makes it later).
    async def main(rates: list[FleetRate]) -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.gather(*(r.take(HOST) for r in rates for _ in range(2)))
        return loop.time() - start

    assert run(redis_server.url, main) >= 5 * 0.2 - 0.02


def test_a_slot_beyond_the_patience_is_turn_later(redis_server: RedisServer) -> None:
    async def main(rates: list[FleetRate]) -> None:
        await rates[0].take(HOST)
        await rates[1].take(HOST, patience=0.0)

    with pytest.raises(TurnLater):
        run(redis_server.url, main)


def test_redis_gone_is_a_fleet_error(redis_server: RedisServer) -> None:
    url = redis_server.url
    redis_server.stop()

    async def main(rates: list[FleetRate]) -> None:
        await rates[0].take(HOST)

    with pytest.raises(FleetError, match="Redis failed the rate"):
        run(url, main, workers=1)


@pytest.mark.parametrize("reply", [b"soon", -5, 2.5, None])
def test_a_reply_that_is_not_a_wait_is_a_fleet_error(
    redis_server: RedisServer, reply: object
) -> None:
    async def main(rates: list[FleetRate]) -> None:
        async def answer(**kwargs: Any) -> object:
            return reply

        rates[0]._take = answer
        await rates[0].take(HOST)

    with pytest.raises(FleetError, match="not a wait in ms"):
        run(redis_server.url, main, workers=1)
