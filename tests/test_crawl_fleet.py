"""A fleet of worker processes on scrapy-redis and one real redis-server: each origin's
robots.txt is fetched once for the whole fleet, the server's own record says so, and every
worker's log still verifies on its own (each holds the preflight its decisions rest on).

Ground truth for "fetched once" is the mock web's record of what it served, never a worker's.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from polite_crawl.testing.crawl import prepare_crawl, read_audit, run_cli
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from pathlib import Path

    from polite_crawl.testing.redisserver import RedisServer

pytestmark = pytest.mark.timeout(300)

HOSTS = ["http://a.test", "http://b.test", "http://c.test"]
PAGES = 8
WORKERS = 3


def fleet_web(web: MockWeb, robots_delay: float = 1.0) -> None:
    # robots.txt answers slowly: workers that pick up pages of one host meanwhile must wait
    # for the fleet's fetch, not make their own.
    for host in HOSTS:
        web.add(host + "/robots.txt", Resp(body="User-agent: *\nAllow: /\n", delay=robots_delay))
        web.add(host + "/", page(*(f"/p{n}" for n in range(PAGES))))
        for n in range(PAGES):
            web.add(f"{host}/p{n}", page("/"))


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


def test_on_scrapy_redis_the_fleet_shares_queue_dupefilter_and_origin_files(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path
) -> None:
    fleet_web(mockweb)

    workers = run_fleet(mockweb, redis_server, tmp_path, scrapy_redis(redis_server))

    for code, log, _ in workers:
        assert code == 0, log
    robots = Counter(h.url for h in mockweb.hits if h.path == "/robots.txt")
    assert robots == {f"{h}/robots.txt": 1 for h in HOSTS}
    pages = Counter(h.url for h in mockweb.hits if h.path != "/robots.txt")
    assert pages == {u: 1 for u in pages}  # the shared dupefilter: each page once
    assert len(pages) == len(HOSTS) * (PAGES + 1)
    here = [r for _, _, d in workers for r in preflights(d) if r["fleet"]["here"]]
    assert sorted(r["url"] for r in here) == [f"{h}/robots.txt" for h in HOSTS]


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
