"""A fleet of worker processes on scrapy-redis and one real redis-server: each origin's
robots.txt is fetched once for the whole fleet, the server's own record says so, and every
worker's log still verifies on its own (each holds the preflight its decisions rest on).

Ground truth for "fetched once" is the mock web's record of what it served, never a worker's.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
import redis
from scrapy import Request

from polite_crawl.queues import HostQueue
from polite_crawl.testing.crawl import prepare_crawl, read_audit, run_cli
from polite_crawl.testing.mockweb import MockWeb, Resp, page
from polite_crawl.testing.spiders import FollowAllSpider

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from polite_crawl.testing.redisserver import RedisCluster, RedisServer

pytestmark = pytest.mark.timeout(300)

HOSTS = ["http://a.test", "http://b.test", "http://c.test"]
PAGES = 8
WORKERS = 3


def until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Wait for something a test's processes do (no timing is asserted)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        time.sleep(0.05)


def fleet_web(web: MockWeb, robots_delay: float = 1.0) -> None:
    # robots.txt answers slowly: workers that pick up pages of one host meanwhile must wait
    # for the fleet's fetch, not make their own.
    for host in HOSTS:
        web.add(host + "/robots.txt", Resp(body="User-agent: *\nAllow: /\n", delay=robots_delay))
        web.add(host + "/", page(*(f"/p{n}" for n in range(PAGES))))
        for n in range(PAGES):
            web.add(f"{host}/p{n}", page("/"))


def paced_site(web: MockWeb, host: str, delay: float, pages: int) -> None:
    """A site asking for `delay` seconds between requests: a root page linking /p0 ... ."""
    web.add(host + "/robots.txt", Resp(body=f"User-agent: *\nAllow: /\nCrawl-delay: {delay}\n"))
    web.add(host + "/", page(*(f"/p{n}" for n in range(pages))))
    for n in range(pages):
        web.add(f"{host}/p{n}", page())


def fleet_settings(redis: RedisServer, worker: int) -> dict[str, Any]:
    return {
        "POLITE_CRAWL_PURPOSES": ["archiving"],
        "POLITE_CRAWL_REDIS_URL": redis.url,
        "POLITE_CRAWL_WORKER_ID": f"w{worker}",
    }


def scrapy_redis(redis: RedisServer) -> dict[str, Any]:
    """scrapy-redis, as its README sets it up: one queue and one dupefilter for the fleet."""
    return {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "REDIS_URL": redis.url,
        # Kept on close: with False, the first worker to finish deletes the queue and the
        # dupefilter the others still use (each test has a fresh redis-server).
        "SCHEDULER_PERSIST": True,
    }


def run_fleet(
    web: MockWeb, redis: RedisServer, tmp_path: Path, extra: dict[str, Any] | None = None
) -> list[tuple[int, str, Path]]:
    """Start every worker at once; wait for all. (returncode, log, audit dir) per worker."""
    procs = []
    for n in range(WORKERS):
        prepared = prepare_crawl(
            web,
            tmp_path / f"w{n}",
            [h + "/" for h in HOSTS],
            {**fleet_settings(redis, n), **(extra or {})},
        )
        log = (tmp_path / f"w{n}.log").open("w")
        proc = subprocess.Popen(
            prepared.cmd,
            cwd=prepared.workdir,
            env=prepared.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append((proc, log, prepared.audit_dir, tmp_path / f"w{n}.log"))
    out = []
    for proc, log, audit_dir, path in procs:
        proc.wait(timeout=240)
        log.close()
        out.append((proc.returncode, path.read_text(), audit_dir))
    return out


def preflights(audit_dir: Path) -> list[dict[str, Any]]:
    verified = run_cli("audit", "verify", str(audit_dir))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    return [r for r in read_audit(audit_dir) if r["type"] == "preflight"]


def test_each_origin_file_is_fetched_once_for_the_fleet(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path
) -> None:
    # Each worker crawls every page itself (no shared queue): each needs every origin's
    # robots.txt, at the same time as the others, whatever the scheduling.
    fleet_web(mockweb)

    workers = run_fleet(mockweb, redis_server, tmp_path)

    for code, log, _ in workers:
        assert code == 0, log
    seen = [(h.url, round(h.at, 2)) for h in mockweb.hits]
    robots = Counter(h.url for h in mockweb.hits if h.path == "/robots.txt")
    assert robots == {f"{h}/robots.txt": 1 for h in HOSTS}, seen
    pages = Counter(h.url for h in mockweb.hits if h.path != "/robots.txt")
    assert set(pages.values()) == {WORKERS}
    fetched_here: Counter[str] = Counter()
    for _, _, audit_dir in workers:
        # Every worker's log holds each robots.txt its decisions rest on, and verifies alone.
        records = preflights(audit_dir)
        assert sorted(r["url"] for r in records) == [f"{h}/robots.txt" for h in HOSTS]
        fetched_here.update(r["url"] for r in records if r["fleet"]["here"])
    assert fetched_here == {f"{h}/robots.txt": 1 for h in HOSTS}
    for n in range(WORKERS):
        stats = json.loads((tmp_path / f"w{n}" / "stats.json").read_text())["stats"]
        assert stats["polite_crawl/fleet/redis/pacing"] == 0  # no delay, no round trip
        assert stats["polite_crawl/fleet/redis/origin_files"] >= len(HOSTS)


HOST_QUEUE = {"SCHEDULER_QUEUE_CLASS": "polite_crawl.queues.HostQueue"}


@pytest.mark.parametrize("queue", [{}, HOST_QUEUE], ids=["scrapy-redis-queue", "host-queue"])
def test_on_scrapy_redis_the_fleet_shares_queue_dupefilter_and_origin_files(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path, queue: dict[str, str]
) -> None:
    fleet_web(mockweb)

    workers = run_fleet(mockweb, redis_server, tmp_path, {**scrapy_redis(redis_server), **queue})

    for code, log, _ in workers:
        assert code == 0, log
        # On scrapy-redis's own queue, each worker says once that the host queue exists.
        assert log.count("takes the sites in turn") == (0 if queue else 1), log
    robots = Counter(h.url for h in mockweb.hits if h.path == "/robots.txt")
    assert robots == {f"{h}/robots.txt": 1 for h in HOSTS}
    pages = Counter(h.url for h in mockweb.hits if h.path != "/robots.txt")
    assert pages == {u: 1 for u in pages}  # the shared dupefilter: each page once
    assert len(pages) == len(HOSTS) * (PAGES + 1)
    here = [r for _, _, d in workers for r in preflights(d) if r["fleet"]["here"]]
    assert sorted(r["url"] for r in here) == [f"{h}/robots.txt" for h in HOSTS]


def test_the_host_queue_hands_the_shared_queue_out_host_by_host(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path
) -> None:
    # The shared queue filled before the worker starts, one site's pages after another (as a
    # site's page linking to all of them queues them), pages without links, and one request at
    # a time: the server's record is then the order the queue hands them out, whatever the
    # timing. scrapy-redis's own queue hands out one site's pages in a row (ordered by their
    # pickled bytes), which fills a worker's download slots with one site; the host queue takes
    # the hosts in turn.
    spider = FollowAllSpider()
    # As scrapy-redis's scheduler builds it (its default key; its serializer when none is set).
    shared = HostQueue(redis.Redis.from_url(redis_server.url), spider, "%(spider)s:requests")
    for host in HOSTS:
        mockweb.add(host + "/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
        for n in range(PAGES):
            mockweb.add(f"{host}/p{n}", Resp(body="<html><body>no links</body></html>"))
            shared.push(Request(f"{host}/p{n}", callback=spider.parse, errback=spider.refused))
    prepared = prepare_crawl(
        mockweb,
        tmp_path / "w0",
        [],
        {
            **fleet_settings(redis_server, 0),
            **scrapy_redis(redis_server),
            **HOST_QUEUE,
            "CONCURRENT_REQUESTS": 1,
        },
    )
    done = subprocess.run(prepared.cmd, cwd=prepared.workdir, env=prepared.env, timeout=120)

    assert done.returncode == 0
    hosts = [h.host for h in mockweb.hits if h.path != "/robots.txt"]
    assert hosts == ["a.test", "b.test", "c.test"] * PAGES


def test_with_redis_gone_nothing_is_sent_and_each_refusal_is_recorded(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path
) -> None:
    fleet_web(mockweb, robots_delay=0.0)
    url = redis_server.url
    redis_server.stop()

    prepared = prepare_crawl(
        mockweb,
        tmp_path / "w0",
        [HOSTS[0] + "/"],
        {"POLITE_CRAWL_PURPOSES": ["archiving"], "POLITE_CRAWL_REDIS_URL": url},
    )
    proc = subprocess.run(
        prepared.cmd, cwd=prepared.workdir, env=prepared.env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip

    log = proc.stdout + proc.stderr
    assert mockweb.hits == []
    refusals = [r for r in read_audit(prepared.audit_dir) if r["type"] == "decision"]
    assert [(r["url"], r["decision"], r["reason"]) for r in refusals] == [
        (HOSTS[0] + "/", "deny", "fleet.unavailable")
    ]
    assert "the fleet's shared state failed" in log


def test_a_worker_killed_while_holding_a_lease_delays_the_origin_by_at_most_the_lease(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path
) -> None:
    # w0 takes a.test's lease and is killed (-9) while its robots.txt fetch hangs: no fetch is
    # ever published. w1, started meanwhile, waits until the 2-second lease runs out, takes it
    # over and fetches robots.txt itself (which the site now answers at once).
    hang = Resp(body="User-agent: *\nAllow: /\n", delay=60.0)
    mockweb.add(HOSTS[0] + "/robots.txt", hang)
    mockweb.add(HOSTS[0] + "/", page())
    settings = {**fleet_settings(redis_server, 0), "POLITE_CRAWL_FLEET_LEASE": 2}
    first = prepare_crawl(mockweb, tmp_path / "w0", [HOSTS[0] + "/"], settings)
    killed = subprocess.Popen(
        first.cmd, cwd=first.workdir, env=first.env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        until(lambda: any(h.path == "/robots.txt" for h in mockweb.hits))
        killed.kill()
        killed.wait(timeout=30)
        mockweb.add(HOSTS[0] + "/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
        second = prepare_crawl(
            mockweb,
            tmp_path / "w1",
            [HOSTS[0] + "/"],
            {**fleet_settings(redis_server, 1), "POLITE_CRAWL_FLEET_LEASE": 2},
        )
        done = subprocess.run(
            second.cmd, cwd=second.workdir, env=second.env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
    finally:
        if killed.poll() is None:
            killed.kill()
    assert done.returncode == 0, done.stdout + done.stderr
    assert [h.path for h in mockweb.hits] == ["/robots.txt", "/robots.txt", "/"]
    (record,) = [r for r in preflights(second.audit_dir)]
    assert record["fleet"] == {"fetched_by": "w1", "fence": 2, "here": True}


def test_redis_stopped_mid_crawl_sends_nothing_undecided(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path
) -> None:
    # Three hosts, robots.txt slow: Redis stops while the fleet is still asking for them.
    # Whatever reached the site had its allow recorded first; the rest is refused and
    # recorded (fleet.unavailable), never sent on a worker's own fetch.
    fleet_web(mockweb, robots_delay=2.0)
    procs = []
    for n in range(WORKERS):
        prepared = prepare_crawl(
            mockweb, tmp_path / f"w{n}", [h + "/" for h in HOSTS],
            {**fleet_settings(redis_server, n), "POLITE_CRAWL_REDIS_TIMEOUT": 1},
        )  # fmt: skip
        proc = subprocess.Popen(
            prepared.cmd, cwd=prepared.workdir, env=prepared.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        procs.append((proc, prepared.audit_dir))
    until(lambda: any(h.path == "/robots.txt" for h in mockweb.hits))
    redis_server.stop()
    for proc, _ in procs:
        proc.wait(timeout=180)

    records = [r for _, audit_dir in procs for r in read_audit(audit_dir)]
    allowed = {r["url"] for r in records if r["type"] == "decision" and r["decision"] == "allow"}
    pages = [h.url for h in mockweb.hits if h.path != "/robots.txt"]
    assert set(pages) <= allowed  # nothing sent without its allow recorded
    robots = Counter(h.url for h in mockweb.hits if h.path == "/robots.txt")
    assert set(robots.values()) == {1}  # no worker fetched on its own after Redis went
    refused = [r for r in records if r.get("reason") == "fleet.unavailable"]
    assert refused
    assert all(r["decision"] == "deny" and r["enforced"] for r in refused)


def test_a_crawl_delay_holds_for_the_whole_fleet(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path
) -> None:
    # One host asking for a second between requests; three workers each crawling all of it
    # (no shared queue): the site must see one request at a time from the fleet, each at
    # least a second after the previous one, by its own clock.
    host = HOSTS[0]
    mockweb.add(host + "/robots.txt", Resp(body="User-agent: *\nAllow: /\nCrawl-delay: 1\n"))
    mockweb.add(host + "/", page("/p0", "/p1", "/p2"))
    for n in range(3):
        mockweb.add(f"{host}/p{n}", page())
    procs = []
    for n in range(WORKERS):
        prepared = prepare_crawl(
            mockweb, tmp_path / f"w{n}", [host + "/"], fleet_settings(redis_server, n)
        )
        procs.append(
            (
                subprocess.Popen(
                    prepared.cmd, cwd=prepared.workdir, env=prepared.env,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                ),
                prepared.audit_dir,
            )
        )  # fmt: skip
    for proc, _ in procs:
        assert proc.wait(timeout=240) == 0

    hits = sorted(h.at for h in mockweb.hits if h.path != "/robots.txt")
    assert len(hits) == WORKERS * 4  # every worker fetched every page itself
    gaps = [b - a for a, b in itertools.pairwise(hits)]
    assert min(gaps) >= 1.0, gaps
    for _, audit_dir in procs:
        assert run_cli("audit", "verify", str(audit_dir)).returncode == 0


def test_paced_requests_far_from_their_turn_go_back_to_the_queue_and_are_sent_once(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path
) -> None:
    # Three workers on one scrapy-redis queue; one host asks for a second between requests.
    # With POLITE_CRAWL_FLEET_PARK_AFTER = 0, a request that finds the fleet's turn taken or
    # not yet due goes back (to the shared queue, when due) instead of waiting at the wire: it
    # must still be sent exactly once, in its turn, decided again when it comes back.
    host, free = HOSTS[0], HOSTS[1]
    mockweb.add(host + "/robots.txt", Resp(body="User-agent: *\nAllow: /\nCrawl-delay: 1\n"))
    mockweb.add(free + "/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
    mockweb.add(
        host + "/", page(*(f"/p{n}" for n in range(5)), *(f"{free}/f{n}" for n in range(9)))
    )
    for n in range(5):
        mockweb.add(f"{host}/p{n}", page())
    for n in range(9):
        mockweb.add(f"{free}/f{n}", Resp(body="<html></html>", delay=0.2))

    workers = run_fleet(
        mockweb, redis_server, tmp_path,
        {**scrapy_redis(redis_server), "POLITE_CRAWL_FLEET_PARK_AFTER": 0},
    )  # fmt: skip

    for code, log, _ in workers:
        assert code == 0, log
    pages = Counter(h.url for h in mockweb.hits if h.path != "/robots.txt")
    assert pages == {u: 1 for u in pages}  # each page once, parked or not
    wanted = {host + "/", *(f"{host}/p{n}" for n in range(5)), *(f"{free}/f{n}" for n in range(9))}
    assert wanted <= set(pages)
    paced = sorted(h.at for h in mockweb.hits if h.host == "a.test" and h.path != "/robots.txt")
    gaps = [b - a for a, b in itertools.pairwise(paced)]
    assert min(gaps) >= 1.0, gaps
    parked = 0
    for n, (_, _, audit_dir) in enumerate(workers):
        assert run_cli("audit", "verify", str(audit_dir)).returncode == 0
        stats = json.loads((tmp_path / f"w{n}" / "stats.json").read_text())["stats"]
        parked += stats.get("polite_crawl/fleet/parked", 0)
    assert parked > 0  # the case this test is about happened
    # A parked request was decided again when it came back: some paced URL has more allow
    # decisions than fetches across the fleet's logs, and no fetch lacks its allow.
    records = [r for _, _, d in workers for r in read_audit(d)]
    allows = Counter(
        r["url"] for r in records if r["type"] == "decision" and r["decision"] == "allow"
    )
    fetched = Counter(r["url"] for r in records if r["type"] == "fetched")
    assert any(allows[u] > fetched[u] for u in fetched if u.startswith(host))
    assert all(allows[u] >= n for u, n in fetched.items())


def test_on_failure_pause_the_crawl_waits_for_redis_and_goes_on(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path
) -> None:
    # A paced host asks Redis before every request. Redis stops mid-crawl: the request that
    # needed it is refused and recorded, the crawl pauses instead of closing, and once Redis
    # is back (same port, empty) it goes on: the site sees requests after the restart, every
    # one of them with its allow recorded first.
    host = HOSTS[0]
    paced_site(mockweb, host, 0.3, 12)
    prepared = prepare_crawl(
        mockweb, tmp_path / "w0", [host + "/"],
        {**fleet_settings(redis_server, 0), "POLITE_CRAWL_REDIS_TIMEOUT": 1,
         "POLITE_CRAWL_FLEET_ON_FAILURE": "pause"},
    )  # fmt: skip
    log_path = tmp_path / "w0.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            prepared.cmd, cwd=prepared.workdir, env=prepared.env, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            until(lambda: sum(h.path.startswith("/p") for h in mockweb.hits) >= 3)
            redis_server.stop()
            until(lambda: "the crawl is paused" in log_path.read_text())
            before = len(mockweb.hits)
            redis_server.start()
            assert proc.wait(timeout=120) == 0, log_path.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()

    text = log_path.read_text()
    assert "the crawl resumes" in text
    assert len(mockweb.hits) > before  # it went on after Redis came back
    records = read_audit(prepared.audit_dir)
    allowed = {r["url"] for r in records if r["type"] == "decision" and r["decision"] == "allow"}
    assert {h.url for h in mockweb.hits if h.path != "/robots.txt"} <= allowed
    refused = [r for r in records if r.get("reason") == "fleet.unavailable"]
    assert refused
    assert all(r["decision"] == "deny" and r["enforced"] for r in refused)


def test_on_failure_close_the_crawl_ends_with_status_1(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path
) -> None:
    host = HOSTS[0]
    paced_site(mockweb, host, 0.3, 12)
    prepared = prepare_crawl(
        mockweb, tmp_path / "w0", [host + "/"],
        {**fleet_settings(redis_server, 0), "POLITE_CRAWL_REDIS_TIMEOUT": 1},
    )  # fmt: skip
    proc = subprocess.Popen(
        prepared.cmd, cwd=prepared.workdir, env=prepared.env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    until(lambda: sum(h.path.startswith("/p") for h in mockweb.hits) >= 3)
    redis_server.stop()
    assert proc.wait(timeout=120) == 1
    stats = json.loads((tmp_path / "w0" / "stats.json").read_text())["stats"]
    assert stats["finish_reason"] == "polite_crawl_fleet_unavailable"
    assert len({h.url for h in mockweb.hits if h.path.startswith("/p")}) < 12


FIRST_PAGE_ONLY = '''
from scrapy.exceptions import CloseSpider

from polite_crawl.testing.spiders import FollowAllSpider


class RunSpider(FollowAllSpider):
    """Parses its first page, queues what it yields, and stops: another worker takes those."""

    def parse(self, response):
        yield from super().parse(response)
        raise CloseSpider("first page only")
'''


def test_what_a_page_said_travels_with_its_requests_to_another_worker(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path
) -> None:
    # Worker w0 reads a noimageai page and queues its images in the fleet's shared queue, then
    # stops; worker w1 takes them from Redis. w1 never saw the page: what the page said must
    # reach it with the requests (an image for AI training is refused), or the site serves them.
    gallery, images = "http://a.test", "http://img.test"
    for host in (gallery, images):
        mockweb.add(host + "/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
    imgs = "".join(f'<img src="{images}/i{n}.png">' for n in range(4))
    mockweb.add(
        gallery + "/",
        Resp(body=f'<html><head><meta name="robots" content="noimageai"></head><body>{imgs}'),
    )
    mockweb.add(gallery + "/other", page())
    for n in range(4):
        mockweb.add(
            f"{images}/i{n}.png", Resp(body=b"\x89PNG", headers={"Content-Type": "image/png"})
        )
    settings = {
        **fleet_settings(redis_server, 0),
        **scrapy_redis(redis_server),
        "POLITE_CRAWL_PURPOSES": ["ai-training"],
    }
    first = prepare_crawl(
        mockweb, tmp_path / "w0", [gallery + "/"], settings, spider_code=FIRST_PAGE_ONLY
    )
    subprocess.run(first.cmd, cwd=first.workdir, env=first.env, capture_output=True, timeout=120)
    assert any(h.url == gallery + "/" for h in mockweb.hits)
    assert not any(h.host == "img.test" for h in mockweb.hits)  # queued, not taken by w0

    second = prepare_crawl(
        mockweb, tmp_path / "w1", [gallery + "/other"],
        {**settings, "POLITE_CRAWL_WORKER_ID": "w1"},
    )  # fmt: skip
    ran = subprocess.run(
        second.cmd, cwd=second.workdir, env=second.env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr

    assert not any(h.path.endswith(".png") for h in mockweb.hits)
    refused = [
        r for r in read_audit(second.audit_dir)
        if r["type"] == "decision" and r["url"].startswith(images + "/i")
    ]  # fmt: skip
    assert len(refused) == 4, ran.stderr
    assert {(r["decision"], r["reason"]) for r in refused} == {("deny", "optout.noimageai")}


def test_a_fleet_wide_host_rate_spaces_the_fleets_requests(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path
) -> None:
    # No Crawl-delay; POLITE_CRAWL_FLEET_HOST_RATE = 4: three workers each crawling the whole
    # site (no shared queue) must together send it at most 4 requests a second, spread out.
    host = HOSTS[0]
    mockweb.add(host + "/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
    mockweb.add(host + "/", page(*(f"/p{n}" for n in range(4))))
    for n in range(4):
        mockweb.add(f"{host}/p{n}", page())
    procs = []
    for n in range(WORKERS):
        prepared = prepare_crawl(
            mockweb, tmp_path / f"w{n}", [host + "/"],
            {**fleet_settings(redis_server, n), "POLITE_CRAWL_FLEET_HOST_RATE": 4},
        )  # fmt: skip
        procs.append(
            subprocess.Popen(
                prepared.cmd, cwd=prepared.workdir, env=prepared.env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
    for proc in procs:
        assert proc.wait(timeout=240) == 0

    hits = sorted(h.at for h in mockweb.hits)
    assert len(hits) == 1 + WORKERS * 5  # one robots.txt for the fleet, every page per worker
    # Slots are granted 250 ms apart on Redis's clock; an arrival may lag its grant by the time
    # a worker takes to send (so two may arrive closer), never into a burst: no second of the
    # server's record holds more than the rate and one late arrival, nor the whole crawl more
    # than the rate on average.
    seen = [(round(h.at - hits[0], 3), h.url) for h in sorted(mockweb.hits, key=lambda h: h.at)]
    busiest = max(sum(1 for t in hits if s <= t < s + 1.0) for s in hits)
    assert busiest <= 4 + 1, seen
    # (n - 1 grants span at least (n - 1) intervals; the first arrival may lag its grant.)
    assert len(hits) - 1 <= 4 * (hits[-1] - hits[0] + 0.5)


def test_on_a_redis_cluster_each_origin_file_is_fetched_once_and_pacing_holds(
    mockweb: MockWeb, redis_cluster: RedisCluster, tmp_path: Path
) -> None:
    # The same fleet against a three-master Redis Cluster: the origins' keys spread over the
    # nodes (each script touches one hash tag: no cross-slot error), robots.txt is still
    # fetched once per origin, and a Crawl-delay still holds across the fleet.
    fleet_web(mockweb)
    paced = "http://paced.test"
    mockweb.add(paced + "/robots.txt", Resp(body="User-agent: *\nAllow: /\nCrawl-delay: 0.5\n"))
    mockweb.add(paced + "/", page("/q0", "/q1"))
    for n in range(2):
        mockweb.add(f"{paced}/q{n}", page())
    procs = []
    for n in range(WORKERS):
        prepared = prepare_crawl(
            mockweb, tmp_path / f"w{n}", [*(h + "/" for h in HOSTS), paced + "/"],
            {"POLITE_CRAWL_PURPOSES": ["archiving"], "POLITE_CRAWL_WORKER_ID": f"w{n}",
             "POLITE_CRAWL_REDIS_URL": redis_cluster.url, "POLITE_CRAWL_REDIS_CLUSTER": True},
        )  # fmt: skip
        log = (tmp_path / f"w{n}.log").open("w")
        procs.append((subprocess.Popen(
            prepared.cmd, cwd=prepared.workdir, env=prepared.env, stdout=log,
            stderr=subprocess.STDOUT,
        ), log, n))  # fmt: skip
    for proc, log, n in procs:
        proc.wait(timeout=240)
        log.close()
        assert proc.returncode == 0, (tmp_path / f"w{n}.log").read_text()

    robots = Counter(h.url for h in mockweb.hits if h.path == "/robots.txt")
    assert robots == {f"{h}/robots.txt": 1 for h in [*HOSTS, paced]}
    hits = sorted(h.at for h in mockweb.hits if h.host == "paced.test" and h.path != "/robots.txt")
    assert len(hits) == WORKERS * 3
    assert min(b - a for a, b in itertools.pairwise(hits)) >= 0.5
    holding = [node for node in redis_cluster.nodes if node.command("DBSIZE") != b":0\r\n"]
    assert len(holding) >= 2  # the state is spread over the cluster, not on one node


def test_a_preflight_to_a_paced_host_waits_for_its_turn_and_is_never_sent_back(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path
) -> None:
    # (Found by review.) robots.txt is fetched again every 2 s (POLITE_CRAWL_ROBOTS_CACHE_TTL)
    # while three workers crawl the host it paces, every far-off turn sent back
    # (POLITE_CRAWL_FLEET_PARK_AFTER = 0). A preflight is fetched outside the scheduler: sent
    # back, its copy came back as an unknown request, was refused, and the fleet recorded the
    # robots.txt unreachable and went on with the old copy. It must wait for its turn instead.
    host = HOSTS[0]
    paced_site(mockweb, host, 0.4, 8)

    workers = run_fleet(
        mockweb, redis_server, tmp_path,
        {"POLITE_CRAWL_FLEET_PARK_AFTER": 0, "POLITE_CRAWL_ROBOTS_CACHE_TTL": 2},
    )  # fmt: skip

    for code, log, _ in workers:
        assert code == 0, log
    assert sum(h.url == host + "/robots.txt" for h in mockweb.hits) > 1  # fetched again
    for _, _, audit_dir in workers:
        assert run_cli("audit", "verify", str(audit_dir)).returncode == 0
        for record in read_audit(audit_dir):
            if record["type"] in ("preflight", "decision") and record["url"].startswith(host):
                text = json.dumps(record)
                assert "unreachable" not in text, record
                assert "re-requested during its preflight" not in text, record
