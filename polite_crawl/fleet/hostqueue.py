"""A shared request queue that hands out hosts in turn: the Redis side of the scrapy-redis queue
class in shell/fleet_queue.py (Scrapy-free; a synchronous redis-py client, as scrapy-redis's
scheduler holds one).

scrapy-redis's own queues hand out requests in one global order (a sorted set ordered by
priority, then by the pickled bytes, so by URL): a page linking to a hundred pages of its own
site fills every worker's download slots with that one site, up to CONCURRENT_REQUESTS_PER_DOMAIN,
while the other sites wait. Scrapy's own default queue since 2.13 (DownloaderAwarePriorityQueue)
spreads a process's requests over its download slots; this is the fleet's version of it: one
queue per download slot (host), and a ring of the hosts that have requests, popped in turn.
Within a host, the higher priority first, and first in, first out among equals.

Keys (all under one hash tag, so that a Redis Cluster keeps them in one slot and one script
may touch them together, as scrapy-redis's single key is):

    {<key>}:ring        list: each host with queued requests, exactly once, in turn order
    {<key>}:hosts       set: the same hosts (membership without scanning the ring)
    {<key>}:host:<slot> sorted set: that host's requests, score -priority, member
                        <16 hex digits: arrival number><serialized request>
    {<key>}:count       how many requests are queued (kept by the scripts)
    {<key>}:seq         the last arrival number given
    {<key>}:bad         list: entries that could not be read back, kept for the operator
    {<key>}:adopting    the lease of the worker moving a kept scrapy-redis queue over

Every script keeps the invariant "a host has queued requests => it is in the ring once", so a
crash of a worker between two scripts leaves nothing half-done: each script is atomic.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, NamedTuple

from polite_crawl.fleet.errors import FleetError

if TYPE_CHECKING:
    from collections.abc import Callable

ADOPT_LEASE_MS = 30_000  # a worker killed while moving a kept queue over holds it this long
_HEX = frozenset(b"0123456789abcdef")
SEQ_DIGITS = 16  # hex digits of the arrival number before each entry: they sort as numbers

# KEYS: ring, hosts, seq, count, the host's queue; ARGV: host, score, serialized request.
PUSH = """
local n = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[5], ARGV[2], string.format('%016x', n) .. ARGV[3])
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
  redis.call('RPUSH', KEYS[1], ARGV[1])
end
return redis.call('INCR', KEYS[4])
"""

# KEYS: ring, hosts, count; ARGV: the prefix of a host's queue key.
# {host, member} of the next host's first request, or nil: nothing is queued.
POP = """
local function take()
  local tries = redis.call('LLEN', KEYS[1])
  for i = 1, tries do
    local host = redis.call('LPOP', KEYS[1])
    local queue = ARGV[1] .. host
    local got = redis.call('ZPOPMIN', queue)
    if #got > 0 then
      if redis.call('ZCARD', queue) > 0 then
        redis.call('RPUSH', KEYS[1], host)
      else
        redis.call('SREM', KEYS[2], host)
      end
      redis.call('DECR', KEYS[3])
      return {host, got[1]}
    end
    redis.call('SREM', KEYS[2], host)
  end
  return nil
end
local found = take()
if found then return found end
-- The ring is empty: a host still listed with requests (the ring lost, evicted or cut by
-- hand) goes back in, or its requests would never be handed out.
for _, host in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('ZCARD', ARGV[1] .. host) > 0 then
    redis.call('RPUSH', KEYS[1], host)
  else
    redis.call('SREM', KEYS[2], host)
  end
end
found = take()
if found then return found end
-- No host has a request: whatever the count says (a queue deleted by hand), it is none.
redis.call('DEL', KEYS[3])  -- no count is 0
return nil
"""

# KEYS: ring, hosts, count; ARGV: the prefix of a host's queue key.
# The count; counted again from the hosts' queues when it says none (or less) but hosts are
# listed: a count lost (evicted, deleted) must not close the workers with requests queued.
LEN = """
local raw = redis.call('GET', KEYS[3])
local n = tonumber(raw or '0')
local listed = redis.call('SCARD', KEYS[2]) + redis.call('LLEN', KEYS[1])
if n == nil or n > 0 or listed == 0 then
  return raw or '0'
end
local seen = {}
n = 0
for _, list in ipairs({redis.call('SMEMBERS', KEYS[2]), redis.call('LRANGE', KEYS[1], 0, -1)}) do
  for _, host in ipairs(list) do
    if not seen[host] then
      seen[host] = true
      n = n + redis.call('ZCARD', ARGV[1] .. host)
    end
  end
end
redis.call('SET', KEYS[3], n)
return tostring(n)
"""

# KEYS: the lease; ARGV: the holder's token, its new lifetime in ms (0: release). 1 while it
# is the caller's, else 0: a lease that ran out and went to another worker is never renewed or
# deleted by its old holder.
LEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] == '0' then
  redis.call('DEL', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
"""

# KEYS: ring, hosts, count, seq; ARGV: the prefix of a host's queue key.
CLEAR = """
for _, host in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('DEL', ARGV[1] .. host)
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
"""


class Popped(NamedTuple):
    host: str
    payload: bytes  # the serialized request, as pushed


class HostQueueStore:
    """The queue's Redis operations; one script (one round trip) each."""

    def __init__(self, server: Any, key: str) -> None:
        if _decodes_replies(server):
            # A pop removes the request in Redis before the reply is read: a client that
            # decodes it as text (a pickle is not UTF-8) would lose every request it pops.
            raise TypeError(
                f"the host queue {key}: its Redis client decodes replies as text "
                "(decode_responses=True, e.g. in REDIS_PARAMS); the queue stores bytes and "
                "needs a client that returns them"
            )
        self.server = server
        tag = key if "{" in key else "{" + key + "}"  # a key with its own hash tag keeps it
        self.ring = f"{tag}:ring"
        self.hosts = f"{tag}:hosts"
        self.count = f"{tag}:count"
        self.seq = f"{tag}:seq"
        self.bad = f"{tag}:bad"
        self.host_prefix = f"{tag}:host:"
        self.adopting = f"{tag}:adopting"
        self._legacy: tuple[str, str] | None = None  # a scrapy-redis queue still moving over
        self._push = server.register_script(PUSH)
        self._pop = server.register_script(POP)
        self._clear = server.register_script(CLEAR)
        self._len = server.register_script(LEN)
        self._lease = server.register_script(LEASE)

    def push(self, host: str, priority: int, payload: bytes) -> None:
        keys = [self.ring, self.hosts, self.seq, self.count, self.host_prefix + host]
        self._push(keys=keys, args=[host, str(-priority), payload])

    def pop(self) -> Popped | None:
        reply = self._pop(keys=[self.ring, self.hosts, self.count], args=[self.host_prefix])
        if reply is None:
            return None
        # An untrusted reply: exactly {host, member}, the member led by its arrival number.
        # Whatever else came back was taken off the queue: kept as it came, never dropped.
        if (
            not isinstance(reply, list)
            or len(reply) != 2
            or not all(isinstance(part, bytes) for part in reply)
        ):
            self.keep_bad(repr(reply).encode())
            raise FleetError(
                f"the queue {self.ring}: Redis answered {reply!r:.80}; kept in {self.bad}"
            )
        host, member = reply
        name = host.decode("utf-8", "replace")
        if len(member) < SEQ_DIGITS or not _HEX.issuperset(member[:SEQ_DIGITS]):
            self.keep_bad(member)
            raise FleetError(
                f"the queue {self.host_prefix}{name}: an entry without its arrival number "
                f"({member[:40]!r}); kept in {self.bad}"
            )
        return Popped(name, member[SEQ_DIGITS:])

    def __len__(self) -> int:
        value = self._len(keys=[self.ring, self.hosts, self.count], args=[self.host_prefix])
        try:
            count = int(value or 0)
        except ValueError:
            raise FleetError(f"the queue count {self.count} is {value!r:.40}") from None
        # While a kept scrapy-redis queue is being moved over (by this worker or another), its
        # requests are still to come: a worker must not close on an empty-looking queue.
        if self._legacy is not None:
            left = self._legacy_size(*self._legacy)
            if not left:
                self._legacy = None
            count = max(count, 0) + left
        return max(count, 0)

    @property
    def legacy_pending(self) -> bool:
        """A kept scrapy-redis queue was seen and may still hold requests to move over: a pop
        that finds nothing tries the move again (its mover may have been killed)."""
        return self._legacy is not None

    def _legacy_size(self, key: str, kind: str) -> int:
        return int(self.server.zcard(key) if kind == "zset" else self.server.llen(key))

    def keep_bad(self, entry: bytes) -> None:
        """An entry that cannot be read back: kept for the operator, never silently gone."""
        self.server.rpush(self.bad, entry)

    def clear(self) -> None:
        # The bad list stays: it is the operator's to read, not part of the queue.
        self._clear(keys=[self.ring, self.hosts, self.count, self.seq], args=[self.host_prefix])

    def adopt(
        self, legacy: str, read: Callable[[bytes], tuple[str, int]], batch: int = 100
    ) -> int:
        """Move the requests of a scrapy-redis queue left at `legacy` (a sorted set or a list,
        by its PriorityQueue, FifoQueue or LifoQueue) into this one, so that switching a kept
        (SCHEDULER_PERSIST) crawl to this queue strands none. One worker moves them, under a
        lease (workers started together would otherwise each move every request, and each
        would be fetched as often); the others count them as queued until they are gone. Each
        batch is pushed here before it is removed there: a crash in between queues those
        requests twice (the dupefilter has seen them), never loses one. `read` gives an entry's
        host and priority; an entry it cannot read goes to the bad list. Returns how many this
        worker moved."""
        kind = self.server.type(legacy)
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        if kind not in ("zset", "list"):
            self._legacy = None
            return 0
        self._legacy = (legacy, kind)
        token = os.urandom(8).hex()
        if not self.server.set(self.adopting, token, nx=True, px=ADOPT_LEASE_MS):
            return 0  # another worker is moving them
        moved = 0
        try:
            while True:
                if kind == "zset":
                    entries = self.server.zrange(legacy, 0, batch - 1)
                else:  # FifoQueue pops from the right: its oldest entries are there
                    entries = list(reversed(self.server.lrange(legacy, -batch, -1)))
                if not entries:
                    return moved
                for entry in entries:
                    try:
                        host, priority = read(entry)
                    except Exception:  # any failure to read is the entry's, not the crawl's
                        self.keep_bad(entry)
                        continue
                    self.push(host, priority, entry)
                    moved += 1
                if kind == "zset":
                    self.server.zrem(legacy, *entries)
                else:  # each entry by its value, from the right: a worker still on scrapy-redis's
                    # queue may have popped some meanwhile (handed out twice, never one lost)
                    pipe = self.server.pipeline(transaction=False)
                    for entry in entries:
                        pipe.lrem(legacy, -1, entry)
                    pipe.execute()
                if not self._lease(keys=[self.adopting], args=[token, str(ADOPT_LEASE_MS)]):
                    return moved  # the lease ran out and another worker moves the rest
        finally:
            self._lease(keys=[self.adopting], args=[token, "0"])


def _decodes_replies(server: Any) -> bool:
    pool = getattr(server, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None)
    return isinstance(kwargs, dict) and bool(kwargs.get("decode_responses"))
