"""The fleet's roster: every worker that joined, by the name its logs carry.

Each worker adds itself when its crawl opens and records the roster it saw in its logs'
`run.start` and `run.end` (`fleet.peers`). A fleet export must then hold every worker any
exported log names (audit/fleet.py): a worker log withheld from the export shows as a peer
nobody exported. The roster is one Redis set, `<prefix>:workers`, never expiring: a fleet's
record spans its whole life (a new fleet takes a new POLITE_CRAWL_REDIS_PREFIX).
"""

from __future__ import annotations

from typing import Any

from polite_crawl.audit.worker import WORKER_NAME
from polite_crawl.fleet.errors import FleetError
from polite_crawl.fleet.origins import call

MAX_WORKERS = 10_000  # a roster larger than this is not a fleet's: refused, not recorded


def roster_key(prefix: str) -> str:
    return f"{prefix}:workers"


class Roster:
    def __init__(self, client: Any, *, prefix: str, timeout: float) -> None:
        self.client = client
        self.key = roster_key(prefix)
        self.timeout = timeout
        self.round_trips = 0
        self.foreign = 0  # members of the set that are no worker name, at the last read

    async def join(self, worker: str) -> list[str]:
        """Add worker; the roster after, sorted. FleetError when Redis fails or answers
        something that is not a set of names."""
        pipe = self.client.pipeline(transaction=True)
        pipe.sadd(self.key, worker)
        pipe.smembers(self.key)
        self.round_trips += 1
        reply = await call(f"SADD/SMEMBERS {self.key}", pipe.execute(), self.timeout)
        return self._names(reply[-1] if isinstance(reply, list) and reply else None, worker)

    async def members(self, worker: str) -> list[str]:
        self.round_trips += 1
        reply = await call(f"SMEMBERS {self.key}", self.client.smembers(self.key), self.timeout)
        return self._names(reply, worker)

    def _names(self, reply: Any, worker: str) -> list[str]:
        if not isinstance(reply, (set, list)) or len(reply) > MAX_WORKERS:
            raise FleetError(f"{self.key}: not a roster of worker names ({type(reply).__name__})")
        names: list[str] = []
        foreign = 0
        for member in reply:
            name = member.decode("latin-1") if isinstance(member, bytes) else None
            if name is None or not WORKER_NAME.fullmatch(name):
                # Not a worker's (another program's, or planted): no worker exports under it,
                # so it is left out rather than costing the whole roster.
                foreign += 1
                continue
            names.append(name)
        self.foreign = foreign
        if worker not in names:
            raise FleetError(f"{self.key}: this worker ({worker}) is missing from the roster")
        return sorted(names)
