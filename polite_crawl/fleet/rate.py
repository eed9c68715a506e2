"""An optional fleet-wide request rate per host (POLITE_CRAWL_FLEET_HOST_RATE), for hosts that
state no Crawl-delay: a GCRA (generic cell rate algorithm) in one Redis script, on Redis's
clock, so that the fleet as a whole sends a host at most `rate` requests a second, evenly
spaced, however many workers it has.

One key per host, `<prefix>:{rate|<host>}:tat` (its theoretical arrival time, ms), expiring
soon after it passes: one Redis round trip per request when the host's slot is free, one more
per ask when it is not. Unlike the Crawl-delay turn (pace.py), it spaces the starts of requests,
not the gap after each answer: a rate is what it promises, a Crawl-delay is not.
"""

from __future__ import annotations

import asyncio
from typing import Any

from polite_crawl.fleet.errors import FleetError
from polite_crawl.fleet.keys import rate_key
from polite_crawl.fleet.origins import call
from polite_crawl.fleet.pace import TurnLater

# KEYS: tat; ARGV: interval ms. 0: go (the next slot is booked); n > 0: ask again in n ms.
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat > now then
  return tat - now
end
redis.call('SET', KEYS[1], now + interval, 'PX', interval + 60000)
return 0
"""


class FleetRate:
    def __init__(self, client: Any, *, prefix: str, rate: float, timeout: float) -> None:
        self.prefix = prefix
        self.interval_ms = max(1, round(1000 / rate))
        self.timeout = timeout
        self.round_trips = 0
        self._take = client.register_script(TAKE)

    async def take(self, host: str, patience: float | None = None) -> None:
        """Book the host's next slot, waiting for it; TurnLater when it is further away than
        patience allows; FleetError when Redis fails (nothing is sent)."""
        key = rate_key(self.prefix, host)
        waited = 0.0
        while True:
            self.round_trips += 1
            wait = await call(
                f"the rate {key}",
                self._take(keys=[key], args=[str(self.interval_ms)]),
                self.timeout,
            )
            if type(wait) is not int or wait < 0:  # an untrusted reply: never a guess
                raise FleetError(f"the rate {key}: Redis answered {wait!r}, not a wait in ms")
            if wait == 0:
                return
            pause = min(wait, self.interval_ms) / 1000  # a bad reply cannot park for good
            if patience is not None and waited + pause > patience:
                raise TurnLater(host, pause)
            waited += pause
            await asyncio.sleep(pause)
