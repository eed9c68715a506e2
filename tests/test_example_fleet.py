"""examples/fleet, run as its README says: three workers of the example Scrapy project (a
scrapy-redis RedisSpider, fleet mode, one fleet key) against one redis-server and the loopback
mock web. Each page is fetched once for the fleet, each robots.txt once, and the fleet export of
the three workers' logs verifies with the key's fingerprint."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from polite_crawl.testing.crawl import run_cli
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from polite_crawl.testing.redisserver import RedisServer

pytestmark = pytest.mark.timeout(300)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fleet"
SITES = ["http://a.test", "http://b.test"]


def test_the_fleet_example_runs_as_documented(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path
) -> None:
    for site in SITES:
        mockweb.add(site + "/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
        mockweb.add(site + "/", page(*(f"/p{n}" for n in range(6))))
        for n in range(6):
            mockweb.add(f"{site}/p{n}", page())
    project = tmp_path / "fleet"
    shutil.copytree(EXAMPLE, project)
    made = run_cli("audit", "keygen", "fleet.key", cwd=project)
    assert made.returncode == 0, made.stderr
    fingerprint = made.stdout.split("key sha256:")[1].split(".")[0]
    redis_server.command("LPUSH", "sites:start_urls", *(s + "/" for s in SITES))

    env = {**mockweb.env(), "FLEET_REDIS_URL": redis_server.url, "FLEET_MAX_IDLE": "3"}
    workers = []
    for worker in ("w1", "w2", "w3"):
        log = (tmp_path / f"{worker}.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "scrapy", "crawl", "sites"],
            cwd=project,
            env={**_environ(), **env, "WORKER_ID": worker},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        workers.append((worker, proc, log))
    for worker, proc, log in workers:
        proc.wait(timeout=240)
        log.close()
        assert proc.returncode == 0, (tmp_path / f"{worker}.log").read_text()

    pages = Counter(h.url for h in mockweb.hits if h.path != "/robots.txt")
    assert pages == {u: 1 for u in pages}
    assert len(pages) == len(SITES) * 7
    robots = Counter(h.url for h in mockweb.hits if h.path == "/robots.txt")
    assert robots == {s + "/robots.txt": 1 for s in SITES}

    dirs = [f"audit/{w}" for w in ("w1", "w2", "w3")]
    verified = run_cli("audit", "verify", *dirs, cwd=project)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    exported = run_cli(
        "audit", "export", "--platform", "_sites", "-o", "export", *dirs, cwd=project
    )
    assert exported.returncode == 0, exported.stderr
    checked = run_cli(
        "audit", "verify", "export", "--fingerprint", f"sha256:{fingerprint}", cwd=project
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _environ() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.pop("SCRAPY_SETTINGS_MODULE", None)  # the project's scrapy.cfg names its own
    return env
