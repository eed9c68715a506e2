"""The fleet's host queue (SCHEDULER_QUEUE_CLASS = "polite_crawl.queues.HostQueue") against a
real redis-server: hosts in turn, priority then arrival within a host, one pop per request
however many workers pop at once, nothing lost (unreadable entries kept, a scrapy-redis queue
left by a kept crawl moved over), and a count that cannot keep a crawl open for ever."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
import redis
from scrapy import Request, Spider
from scrapy_redis import picklecompat
from scrapy_redis.queue import FifoQueue, PriorityQueue

from polite_crawl.fleet.hostqueue import HostQueueStore
from polite_crawl.queues import HostQueue

if TYPE_CHECKING:
    from polite_crawl.testing.redisserver import RedisServer

KEY = "%(spider)s:requests"


class _Spider(Spider):
    name = "hq"


@pytest.fixture
def server(redis_server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(redis_server.url)


def queue(server: redis.Redis) -> HostQueue:
    return HostQueue(server, _Spider(), KEY)


def drain(q: HostQueue) -> list[str]:
    out = []
    while (request := q.pop()) is not None:
        out.append(request.url)
    return out


def test_hosts_are_handed_out_in_turn(server: redis.Redis) -> None:
    q = queue(server)
    for n in range(3):
        q.push(Request(f"http://a.test/{n}"))
    for n in range(2):
        q.push(Request(f"http://b.test/{n}"))
    q.push(Request("http://c.test/0"))
    assert len(q) == 6

    assert drain(q) == [
        "http://a.test/0", "http://b.test/0", "http://c.test/0",
        "http://a.test/1", "http://b.test/1",
        "http://a.test/2",
    ]  # fmt: skip
    assert len(q) == 0


def test_within_a_host_higher_priority_first_then_first_in_first_out(
    server: redis.Redis,
) -> None:
    q = queue(server)
    for n, priority in enumerate([0, 5, 0, 5, -1, 0]):
        q.push(Request(f"http://a.test/{n}?p={priority}", priority=priority))

    assert drain(q) == [
        "http://a.test/1?p=5", "http://a.test/3?p=5",
        "http://a.test/0?p=0", "http://a.test/2?p=0", "http://a.test/5?p=0",
        "http://a.test/4?p=-1",
    ]  # fmt: skip


def test_a_download_slot_in_meta_is_the_host(server: redis.Redis) -> None:
    # Scrapy's downloader puts a request in meta["download_slot"] when set: so does the queue.
    q = queue(server)
    q.push(Request("http://a.test/0", meta={"download_slot": "shared"}))
    q.push(Request("http://b.test/0", meta={"download_slot": "shared"}))
    q.push(Request("http://c.test/0"))

    assert drain(q) == ["http://a.test/0", "http://c.test/0", "http://b.test/0"]


def test_the_request_comes_back_whole(server: redis.Redis) -> None:
    q = queue(server)
    sent = Request(
        "http://a.test/x", method="POST", body=b"k=v", headers={"X-A": "1"},
        meta={"polite_crawl_via": "http://a.test/"}, priority=3, dont_filter=True,
    )  # fmt: skip
    q.push(sent)
    got = q.pop()
    assert got is not None
    assert (got.url, got.method, got.body, got.priority, got.dont_filter) == (
        sent.url, sent.method, sent.body, sent.priority, sent.dont_filter,
    )  # fmt: skip
    assert got.headers.get("X-A") == b"1"
    assert got.meta["polite_crawl_via"] == "http://a.test/"


def test_workers_popping_at_once_each_get_a_request_exactly_once(
    redis_server: RedisServer, server: redis.Redis
) -> None:
    q = queue(server)
    urls = {f"http://h{n % 7}.test/{n}" for n in range(300)}
    for url in sorted(urls):
        q.push(Request(url))
    got: list[list[str]] = [[] for _ in range(4)]

    def worker(out: list[str]) -> None:
        mine = queue(redis.Redis.from_url(redis_server.url))  # a worker's own connection
        out.extend(drain(mine))

    threads = [threading.Thread(target=worker, args=(out,)) for out in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    popped = [u for out in got for u in out]
    assert sorted(popped) == sorted(urls)  # none twice, none lost
    assert len(q) == 0


def test_an_unreadable_entry_is_kept_said_and_skipped(
    server: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    q = queue(server)
    q.push(Request("http://a.test/0"))
    # Another program's entries in the queue: a member without its arrival number, and one
    # whose payload the serializer cannot read.
    server.zadd(q.store.host_prefix + "a.test", {b"garbage": -10})
    server.zadd(q.store.host_prefix + "a.test", {b"0" * 15 + b"9" + b"not a pickle": -9})
    server.incrby(q.store.count, 2)
    q.push(Request("http://a.test/1"))

    assert drain(q) == ["http://a.test/0", "http://a.test/1"]
    assert sorted(server.lrange(q.store.bad, 0, -1)) == [b"garbage", b"not a pickle"]
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 2
    assert any("without its arrival number" in m and "a.test" in m for m in errors)
    assert any("cannot be read back" in m and "hq:requests" in m for m in errors)
    assert len(q) == 0


def test_a_count_left_by_hand_deleted_keys_cannot_keep_the_crawl_open(
    server: redis.Redis,
) -> None:
    # scrapy-redis keeps a worker open while the queue's length is above 0: a host queue
    # deleted by hand must not leave a count that never reaches 0.
    q = queue(server)
    q.push(Request("http://a.test/0"))
    q.push(Request("http://b.test/0"))
    server.delete(q.store.host_prefix + "a.test")

    assert drain(q) == ["http://b.test/0"]
    assert len(q) == 0


@pytest.mark.parametrize("legacy", [PriorityQueue, FifoQueue])
def test_a_kept_scrapy_redis_queue_is_moved_over_with_nothing_lost(
    server: redis.Redis, legacy: type[PriorityQueue]
) -> None:
    # A crawl kept with SCHEDULER_PERSIST under scrapy-redis's own queue, resumed with this
    # one: its requests are moved, not stranded under a key nobody reads.
    old = legacy(server, _Spider(), KEY)
    for n in range(150):  # more than one batch
        old.push(Request(f"http://{'ab'[n % 2]}.test/{n}"))
    if legacy is PriorityQueue:  # and an entry nobody can read
        server.zadd(old.key, {b"not a pickle": 0})
    else:
        server.rpush(old.key, b"not a pickle")

    q = queue(server)

    assert not server.exists(old.key)
    popped = drain(q)
    assert sorted(popped) == sorted(f"http://{'ab'[n % 2]}.test/{n}" for n in range(150))
    assert {popped[0][:13], popped[1][:13]} == {"http://a.test", "http://b.test"}  # in turn
    assert server.lrange(q.store.bad, 0, -1) == [b"not a pickle"]


def test_clear_removes_every_key(server: redis.Redis) -> None:
    q = queue(server)
    for n in range(4):
        q.push(Request(f"http://h{n}.test/"))
    q.clear()

    assert len(q) == 0
    assert q.pop() is None
    assert server.keys("*") == []


def test_workers_opening_together_move_a_kept_queue_over_once(
    redis_server: RedisServer, server: redis.Redis
) -> None:
    # Workers restarted together on a kept crawl: one moves the old queue's requests, the
    # others count them as still queued (scrapy-redis closes a worker whose queue is empty),
    # and every request is queued once, not once per worker.
    old = PriorityQueue(server, _Spider(), KEY)
    for n in range(250):
        old.push(Request(f"http://{'abc'[n % 3]}.test/{n}"))
    server.set("{hq:requests}:adopting", "another worker", px=5000)

    waiting = queue(server)  # another worker holds the lease: it moves nothing
    assert server.zcard(old.key) == 250
    assert len(waiting) == 250
    server.delete("{hq:requests}:adopting")
    mover = queue(redis.Redis.from_url(redis_server.url))

    assert len(waiting) == len(mover) == 250
    assert sorted(drain(waiting)) == sorted(f"http://{'abc'[n % 3]}.test/{n}" for n in range(250))
    assert len(mover) == 0


def test_a_kept_queue_left_by_a_mover_killed_mid_move_is_taken_over_once_its_lease_ends(
    server: redis.Redis,
) -> None:
    # The worker moving a kept scrapy-redis queue over was killed: its lease runs out, and the
    # workers still running must take the move over, not count the old queue's requests as
    # queued for ever (scrapy-redis keeps a worker open while len() > 0: it would never close)
    # with none of them ever handed out.
    old = PriorityQueue(server, _Spider(), KEY)
    for n in range(20):
        old.push(Request(f"http://{'ab'[n % 2]}.test/{n}"))
    server.set("{hq:requests}:adopting", "a killed worker", px=200)

    q = queue(server)
    assert len(q) == 20
    time.sleep(0.3)  # the killed worker's lease runs out

    assert sorted(drain(q)) == sorted(f"http://{'ab'[n % 2]}.test/{n}" for n in range(20))
    assert len(q) == 0


def test_a_lost_count_cannot_close_the_workers_with_requests_queued(server: redis.Redis) -> None:
    # scrapy-redis closes a worker when len() is 0: a count key gone (evicted, deleted by
    # another program) while requests are queued must not read as "nothing queued", nor may
    # the pops that follow drive it below 0 so that later pushes still read as nothing.
    q = queue(server)
    q.push(Request("http://a.test/0"))
    q.push(Request("http://b.test/0"))
    server.delete(q.store.count)

    assert len(q) == 2
    assert len(drain(q)) == 2
    q.push(Request("http://a.test/1"))
    assert len(q) == 1


def test_a_lost_ring_strands_no_host(server: redis.Redis) -> None:
    # The ring (the hosts in turn) gone while its hosts are still listed: the hosts and the
    # requests pushed for them afterwards must still be handed out, not kept for ever (their
    # count keeping the workers open with nothing to pop).
    q = queue(server)
    q.push(Request("http://a.test/0"))
    q.push(Request("http://b.test/0"))
    server.delete(q.store.ring)
    q.push(Request("http://a.test/1"))

    assert sorted(drain(q)) == ["http://a.test/0", "http://a.test/1", "http://b.test/0"]
    assert len(q) == 0


def test_a_client_that_decodes_replies_is_refused_before_a_request_is_lost(
    redis_server: RedisServer,
) -> None:
    # REDIS_PARAMS = {"decode_responses": True}: every pop would remove a request in Redis and
    # then fail to read the reply (a pickle is not UTF-8), losing it. Refused when built.
    server = redis.Redis.from_url(redis_server.url, decode_responses=True)
    with pytest.raises(TypeError, match="decode_responses"):
        HostQueue(server, _Spider(), KEY)


def test_clear_also_removes_a_kept_queue_still_to_be_moved_over(server: redis.Redis) -> None:
    # SCHEDULER_FLUSH_ON_START (or SCHEDULER_PERSIST = False at close) clears the queue: like
    # scrapy-redis's own clear(), that includes its queue at the key, here still waiting to be
    # moved over (another worker holds the lease).
    old = PriorityQueue(server, _Spider(), KEY)
    for n in range(5):
        old.push(Request(f"http://a.test/{n}"))
    server.set("{hq:requests}:adopting", "another worker", px=5000)
    q = queue(server)
    q.push(Request("http://b.test/0"))

    q.clear()

    assert len(q) == 0
    assert not server.exists(old.key)
    assert q.pop() is None


def test_moving_a_kept_list_over_loses_none_to_an_old_worker_still_popping_it(
    server: redis.Redis,
) -> None:
    # A worker still on scrapy-redis's FifoQueue pops the list (from its right) while the new
    # queue moves it over: a request may then be handed out twice, never lost.
    old = FifoQueue(server, _Spider(), KEY)
    urls = [f"http://{'ab'[n % 2]}.test/{n}" for n in range(150)]
    for url in urls:
        old.push(Request(url))
    popped_by_old: list[str] = []

    class OldWorkerPopsMeanwhile:
        dumps = staticmethod(picklecompat.dumps)

        @staticmethod
        def loads(data: bytes) -> Any:
            if not popped_by_old:
                request = old.pop()
                assert request is not None
                popped_by_old.append(request.url)
            return picklecompat.loads(data)

    q = HostQueue(server, _Spider(), KEY, OldWorkerPopsMeanwhile())

    assert not server.exists(old.key)
    assert sorted(set(drain(q) + popped_by_old)) == sorted(urls)


def test_a_mover_whose_lease_went_to_another_stops_and_leaves_that_lease_alone(
    server: redis.Redis,
) -> None:
    # A move that outlives its lease: another worker took the lease over and moves the rest.
    # The first must stop after its batch, and neither renew nor delete the other's lease.
    old = PriorityQueue(server, _Spider(), KEY)
    for n in range(250):
        old.push(Request(f"http://a.test/{n}"))
    store = HostQueueStore(server, "hq:requests")
    seen = 0

    def read(entry: bytes) -> tuple[str, int]:
        nonlocal seen
        seen += 1
        if seen == 1:
            server.set(store.adopting, "another worker", px=60_000)  # this one's ran out
        return "a.test", 0

    moved = store.adopt(old.key, read, batch=100)

    assert moved == 100  # its batch, then it stopped
    assert server.get(store.adopting) == b"another worker"
    assert server.zcard(old.key) == 150


def test_a_reply_that_is_no_request_is_kept_not_dropped(
    server: redis.Redis, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A Redis (or a proxy in front of it) answering the pop script with something else: what
    # it answered was taken off somebody's queue, so it is kept, said, and skipped.
    q = queue(server)
    replies = iter([[b"a.test"], None])
    monkeypatch.setattr(q.store, "_pop", lambda **_: next(replies))

    assert q.pop() is None
    assert server.lrange(q.store.bad, 0, -1) == [b"[b'a.test']"]
    assert any("Redis answered" in r.getMessage() for r in caplog.records)


def test_a_lost_count_and_hosts_set_still_count_the_ring(server: redis.Redis) -> None:
    q = queue(server)
    for n in range(3):
        q.push(Request(f"http://a.test/{n}"))
    server.delete(q.store.count, q.store.hosts)

    assert len(q) == 3
    assert len(drain(q)) == 3
