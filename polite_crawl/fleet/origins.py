"""robots.txt, tdmrep.json and ai.txt fetched once per origin for the whole fleet.

A worker that needs a file and finds no published fetch takes the origin's lease (`SET NX PX`,
and the fencing number `INCR`ed in the same script), fetches, and publishes the fetch with its
fencing number, expiring with its cache lifetime, only if the lease is still its own (a worker
whose lease ran out while it fetched publishes nothing: another one holds the origin now). The
others poll for the published fetch and never allow meanwhile; once the lease has expired (its
holder died), the next one to ask takes it. So a worker killed while holding a lease delays the
origin by at most the lease time.

Crash states: a lease without a result (the holder died) expires by itself; a result is written
in one script with the lease's release, so it is either there whole or not at all.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING, Any, NamedTuple

from polite_crawl.fleet.codec import Published, decode, encode
from polite_crawl.fleet.errors import FleetError
from polite_crawl.fleet.keys import OriginFileKeys, origin_file_keys

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from polite_crawl.origin.fetch import FetchResult

# KEYS: lease, fence, result; ARGV: token, lease ms, fence ms. The fencing number; 0 when a
# result is there after all (published since the caller looked: read it, do not fetch again);
# nil when the lease is held. The result is looked at here, in the same script: between a read that
# found nothing and a lease taken later, the holder may have published and let go.
TAKE = """
if redis.call('EXISTS', KEYS[3]) == 1 then
  return 0
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local fence = redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return fence
end
return false
"""
# KEYS: lease, result; ARGV: token, ttl ms, then field, value, ... Publishes and releases only
# while the lease is still the caller's: 1, else 0.
PUBLISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[1])
return 1
"""
# KEYS: lease; ARGV: token. Gives the lease back (a failed fetch): only one's own.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

POLL_SECONDS = 0.05
# The fencing counter outlives every result it numbered (at most a day, RFC 9309) by a week, so
# an origin the fleet stopped crawling costs nothing in Redis after that (it would otherwise be
# a key per origin and file for ever); numbering then starts again, with no result left to
# confuse it with.
FENCE_MS = 8 * 86_400 * 1000


async def call(what: str, command: Awaitable[Any], timeout: float) -> Any:
    """One Redis command's reply; any failure, or no answer within `timeout`, a FleetError."""
    try:
        return await asyncio.wait_for(command, timeout)
    except asyncio.TimeoutError:
        raise FleetError(f"Redis did not answer {what} within {timeout} s") from None
    except Exception as exc:  # redis-py's ConnectionError, ResponseError, ...: fail closed
        raise FleetError(f"Redis failed {what}: {type(exc).__name__}: {exc}") from None


class Obtained(NamedTuple):
    result: FetchResult
    fence: int
    worker: str  # who fetched it
    here: bool  # this worker fetched it


class SharedOriginFiles:
    def __init__(
        self,
        client: Any,  # redis.asyncio.Redis
        *,
        prefix: str,
        worker: str,
        lease: float,
        wait: float,
        timeout: float,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.worker = worker
        self.lease = lease  # seconds a fetch may hold an origin
        self.wait = wait  # seconds a worker waits for another's fetch before refusing
        self.timeout = timeout  # seconds one Redis command may take
        self.round_trips = 0  # Redis commands sent, for the stats and the benchmark
        self._take = client.register_script(TAKE)
        self._publish = client.register_script(PUBLISH)
        self._release = client.register_script(RELEASE)

    async def _call(self, what: str, command: Awaitable[Any]) -> Any:
        self.round_trips += 1
        return await call(what, command, self.timeout)

    async def obtain(
        self,
        kind: str,
        origin: str,
        url: str,
        limit: int,
        fetch: Callable[[], Awaitable[FetchResult]],
        lifetime: Callable[[FetchResult], float],
    ) -> Obtained:
        """The fleet's fetch of the file at `url` (the `kind` file of `origin`): published by
        another worker, or fetched here under the lease and published. FleetError when Redis
        fails, or when no fetch is published within the wait."""
        keys = origin_file_keys(self.prefix, kind, origin)
        lease_ms = str(max(1, int(self.lease * 1000)))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        while True:
            fields = await self._call(f"HGETALL {keys.result}", self.client.hgetall(keys.result))
            if not isinstance(fields, dict):
                raise FleetError(f"{keys.result}: Redis answered {type(fields).__name__}")
            if fields:
                found: Published = decode(fields, keys.result, url=url, limit=limit)
                return Obtained(found.result, found.fence, found.worker, here=False)
            token = secrets.token_hex(16)
            fence = await self._call(
                f"the lease {keys.lease}",
                self._take(
                    keys=[keys.lease, keys.fence, keys.result],
                    args=[token, lease_ms, str(FENCE_MS)],
                ),
            )
            if fence is not None and (type(fence) is not int or fence < 0):
                raise FleetError(f"the lease {keys.lease}: Redis answered {fence!r}")
            if fence == 0:
                continue  # published meanwhile
            if fence is not None:
                return await self._fetch_here(keys, token, fence, fetch, lifetime)
            if loop.time() >= deadline:
                raise FleetError(
                    f"no worker published {url} within {self.wait} s (lease {keys.lease} held)"
                )
            await asyncio.sleep(POLL_SECONDS)

    async def _fetch_here(
        self,
        keys: OriginFileKeys,
        token: str,
        fence: int,
        fetch: Callable[[], Awaitable[FetchResult]],
        lifetime: Callable[[FetchResult], float],
    ) -> Obtained:
        try:
            result = await fetch()
        except BaseException:
            # Cancelled, or a bug: give the origin back rather than make the fleet wait.
            await self._call(
                f"release {keys.lease}", self._release(keys=[keys.lease], args=[token])
            )
            raise
        ttl_ms = max(1000, int(lifetime(result) * 1000))
        args: list[Any] = [token, str(ttl_ms)]
        for name, value in encode(result, fence, self.worker).items():
            args += [name, value]
        # Refused (0) when the lease ran out during the fetch and another worker took the
        # origin: this worker still uses what it fetched itself; the fleet uses the other's.
        await self._call(
            f"publish {keys.result}", self._publish(keys=[keys.lease, keys.result], args=args)
        )
        return Obtained(result, fence, self.worker, here=True)
