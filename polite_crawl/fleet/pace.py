"""Fleet-wide pacing: a host's Crawl-delay (or policy min_delay) honoured by the whole fleet.

The same rule as each worker's own pacer (shell/pacing.py), kept in Redis on Redis's clock: a
paced host gets one request at a time from the fleet, and each leaves no sooner than `delay`
after the previous one *finished*. A worker takes the host's turn (`acquire`), sends, and gives
it back when the answer is in (`release`), which stamps the host with Redis `TIME`. Measured from
the finish, the gap the site sees is never below the delay, however late a worker sends after
taking its turn (a stalled process, a slow connection): a start-to-start rate (GCRA) would let a
late sender and a punctual one arrive closer than the delay.

Keys per host, one hash tag (`{pace|<host>}`): `...:busy` (the holder's token, expiring after
the lease plus the delay: a worker that dies mid-request blocks the host that long at most) and
`...:last` (when the last request finished, ms; expiring an hour after the delay, and a host
with no `last` counts as just finished: a Redis that lost its keys never allows a burst).

Redis round trips per paced request: one to take the turn when it is free and due, one to give
it back; a worker that finds the turn taken, or not yet due, asks again when it could be.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any, NamedTuple

from polite_crawl.fleet.errors import FleetError
from polite_crawl.fleet.keys import pace_keys
from polite_crawl.fleet.origins import call

# KEYS: busy, last; ARGV: token, delay ms, hold ms. 0: the turn is the caller's; n > 0: ask
# again in n ms (another worker's request is in flight, or the delay since the last one has
# not passed).
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local delay = tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 1 then
  return math.max(delay, 50)
end
local last = redis.call('GET', KEYS[2])
if not last then
  redis.call('SET', KEYS[2], now, 'PX', delay + 3600000)
  return math.max(delay, 1)
end
local ready = tonumber(last) + delay
if now < ready then
  return ready - now
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 0
"""
# KEYS: busy, last; ARGV: token, delay ms. Stamps the finish (never earlier than a stamp there)
# and frees the turn if it is still the caller's.
RELEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
redis.call('SET', KEYS[2], math.max(now, last), 'PX', tonumber(ARGV[2]) + 3600000)
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1
"""


class TurnLater(Exception):
    """The host's turn is further away than the caller would wait: ask again in `wait` s."""

    def __init__(self, host: str, wait: float) -> None:
        super().__init__(f"the fleet's turn at {host} is {wait:.3f} s away")
        self.host = host
        self.wait = wait


class Turn(NamedTuple):
    host: str
    token: str
    delay_ms: int


class FleetPacer:
    def __init__(self, client: Any, *, prefix: str, lease: float, timeout: float) -> None:
        self.client = client
        self.prefix = prefix
        self.lease = lease
        self.timeout = timeout
        self.round_trips = 0  # for the stats and the benchmark
        self._acquire = client.register_script(ACQUIRE)
        self._release = client.register_script(RELEASE)

    async def acquire(self, host: str, delay: float, patience: float | None = None) -> Turn:
        """Wait for the fleet's turn at `host`; FleetError when Redis fails (nothing is sent).
        patience: wait at most this long in all (None: as long as it takes); TurnLater when the
        turn is further away."""
        busy, last = pace_keys(self.prefix, host)
        token = secrets.token_hex(16)
        delay_ms = max(1, int(delay * 1000))
        hold_ms = str(int(self.lease * 1000) + delay_ms)
        waited = 0.0
        while True:
            self.round_trips += 1
            wait = await call(
                f"the turn {busy}",
                self._acquire(keys=[busy, last], args=[token, str(delay_ms), hold_ms]),
                self.timeout,
            )
            if type(wait) is not int or wait < 0:  # an untrusted reply: never a guess
                raise FleetError(f"the turn {busy}: Redis answered {wait!r}, not a wait in ms")
            if wait == 0:
                return Turn(host, token, delay_ms)
            # The script never asks for more than the delay; a longer ask is capped, so that a
            # bad reply cannot park the request for good.
            pause = min(wait, delay_ms) / 1000
            if patience is not None and waited + pause > patience:
                raise TurnLater(host, pause)
            waited += pause
            await asyncio.sleep(pause)

    async def release(self, turn: Turn) -> None:
        busy, last = pace_keys(self.prefix, turn.host)
        self.round_trips += 1
        await call(
            f"the turn {busy}",
            self._release(keys=[busy, last], args=[turn.token, str(turn.delay_ms)]),
            self.timeout,
        )
