"""One record for a fleet: three worker processes on one redis-server, each with its own audit
directory, all signing with one key (POLITE_CRAWL_AUDIT_KEY). `audit verify` takes the three
directories, `audit export --platform` makes one bundle of them, and the bundle verifies against
the fleet's key and shows every worker's requests to the platform; a worker left out of the
export, or its folder removed from the bundle, fails verification.

Ground truth for what each worker fetched is the mock web's record (by User-Agent worker tag).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from polite_crawl.testing.crawl import prepare_crawl, run_cli
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from pathlib import Path

    from polite_crawl.testing.redisserver import RedisServer

pytestmark = pytest.mark.timeout(300)

PLATFORM_HOST = "http://www.artstation.com"  # artstation: archiving allowed
OTHER_HOST = "http://a.test"
WORKERS = 3
PAGES = 6


def web_for_fleet(web: MockWeb) -> None:
    for host in (PLATFORM_HOST, OTHER_HOST):
        web.add(host + "/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
        web.add(host + "/", page(*(f"/p{n}" for n in range(PAGES))))
        for n in range(PAGES):
            web.add(f"{host}/p{n}", page("/"))


def run_workers(
    web: MockWeb,
    redis: RedisServer,
    tmp_path: Path,
    key: Path,
    names: list[str],
    extra: dict[str, Any] | None = None,
) -> list[Path]:
    """Run one worker per name at once, each with its own audit directory and the fleet key;
    their audit directories."""
    procs = []
    for name in names:
        prepared = prepare_crawl(
            web,
            tmp_path / name,
            [PLATFORM_HOST + "/", OTHER_HOST + "/"],
            {
                "POLITE_CRAWL_PURPOSES": ["archiving"],
                "POLITE_CRAWL_REDIS_URL": redis.url,
                "POLITE_CRAWL_WORKER_ID": name,
                "POLITE_CRAWL_AUDIT_KEY": str(key),
                "USER_AGENT": f"fleetbot/1.0 ({name}; +mailto:ops@crawler.example.org)",
                **(extra or {}),
            },
        )
        log = (tmp_path / f"{name}.log").open("w")
        procs.append(
            (
                subprocess.Popen(
                    prepared.cmd,
                    cwd=prepared.workdir,
                    env=prepared.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                ),
                log,
                prepared.audit_dir,
                name,
            )
        )
    dirs = []
    for proc, log, audit_dir, name in procs:
        proc.wait(timeout=240)
        log.close()
        assert proc.returncode == 0, (tmp_path / f"{name}.log").read_text()
        dirs.append(audit_dir)
    return dirs


@pytest.fixture
def fleet_key(tmp_path: Path) -> tuple[Path, str]:
    key = tmp_path / "fleet.key"
    made = run_cli("audit", "keygen", str(key))
    assert made.returncode == 0, made.stderr
    fingerprint = made.stdout.split("key sha256:")[1].split(".")[0]
    return key, fingerprint


def test_a_fleet_export_verifies_and_shows_every_workers_requests(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path, fleet_key: tuple[Path, str]
) -> None:
    key, fingerprint = fleet_key
    web_for_fleet(mockweb)
    names = [f"w{n}" for n in range(WORKERS)]

    dirs = run_workers(mockweb, redis_server, tmp_path, key, names)

    # The key stays where it is: each directory holds only its public half and the path.
    for audit_dir in dirs:
        assert not (audit_dir / "signing.key").exists()
        assert (audit_dir / "signing.key.path").read_text().strip() == str(key.resolve())
    verified = run_cli(
        "audit", "verify", *map(str, dirs), "--fingerprint", "sha256:" + fingerprint
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"in {WORKERS} directories" in verified.stdout

    out = tmp_path / "export"
    exported = run_cli(
        "audit", "export", "--platform", "artstation", "-o", str(out), *map(str, dirs)
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    checked = run_cli("audit", "verify", str(out), "--fingerprint", "sha256:" + fingerprint)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # Every request the site saw from any worker is an allowed decision in that worker's
    # part of the export (the server's record, by the worker's User-Agent).
    seen: Counter[tuple[str, str]] = Counter()
    for hit in mockweb.hits:
        if hit.url.startswith(PLATFORM_HOST) and not hit.url.endswith("/robots.txt"):
            seen[(hit.headers["user-agent"].split("(")[1].split(";")[0], hit.url)] += 1
    assert {w for w, _ in seen} <= set(names)
    head = json.loads((out / "fleet.json").read_text())
    assert sorted(w["name"] for w in head["workers"]) == names
    for worker in head["workers"]:
        entries = (out / "workers" / worker["name"] / "entries.jsonl").read_text()
        records = [json.loads(line) for line in entries.splitlines()]
        allowed = Counter(
            r["url"] for r in records if r["type"] == "decision" and r["decision"] == "allow"
        )
        for (who, url), n in seen.items():
            if who == worker["name"]:
                assert allowed[url] >= n, (who, url)
        starts = [r for r in records if r["type"] == "run.start"]
        assert starts
        assert all(s["fleet"]["worker"] == worker["name"] for s in starts)
        assert all(s["log"].endswith(f"/{worker['name']}/polite-crawl/artstation") for s in starts)
    assert sum(seen.values()) > 0


def test_a_withheld_or_removed_worker_fails_verification(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path, fleet_key: tuple[Path, str]
) -> None:
    key, fingerprint = fleet_key
    web_for_fleet(mockweb)
    # w2 crawls first, then w0 and w1: their run.start records name w2 (the roster in Redis)
    # whatever the timing. (Workers that overlap name each other in run.start or run.end; a
    # worker that ran after all the others had ended is named by nobody: docs/fleet.md.)
    first = run_workers(mockweb, redis_server, tmp_path, key, ["w2"])
    dirs = [*run_workers(mockweb, redis_server, tmp_path, key, ["w0", "w1"]), *first]
    pin = ["--fingerprint", "sha256:" + fingerprint]

    # w0 and w1 without w2: their records name it.
    partial = tmp_path / "partial"
    made = run_cli(
        "audit", "export", "--platform", "artstation", "-o", str(partial), *map(str, dirs[:2])
    )
    assert made.returncode == 0, made.stderr
    checked = run_cli("audit", "verify", str(partial), *pin)
    assert checked.returncode == 1, checked.stdout
    assert "w2" in checked.stderr
    assert "withheld" in checked.stderr

    # The whole fleet, then one worker's folder removed (fleet.json still names it).
    whole = tmp_path / "whole"
    assert (
        run_cli(
            "audit", "export", "--platform", "artstation", "-o", str(whole), *map(str, dirs)
        ).returncode
        == 0
    )
    assert run_cli("audit", "verify", str(whole), *pin).returncode == 0
    victim = next(p for p in sorted((whole / "workers").iterdir()))
    shutil.rmtree(victim)
    removed = run_cli("audit", "verify", str(whole), *pin)
    assert removed.returncode == 1
    assert victim.name in removed.stderr

    # fleet.json rewritten to leave the worker out: its signature no longer holds.
    head = json.loads((whole / "fleet.json").read_text())
    head["workers"] = [w for w in head["workers"] if w["name"] != victim.name]
    (whole / "fleet.json").write_text(json.dumps(head))
    forged = run_cli("audit", "verify", str(whole), *pin)
    assert forged.returncode == 1
    assert "fleet.sig" in forged.stderr


def test_two_directories_with_one_worker_name_do_not_verify_as_a_fleet(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path, fleet_key: tuple[Path, str]
) -> None:
    key, fingerprint = fleet_key
    web_for_fleet(mockweb)
    first = run_workers(mockweb, redis_server, tmp_path / "a", key, ["same"])
    second = run_workers(mockweb, redis_server, tmp_path / "b", key, ["same"])

    verified = run_cli("audit", "verify", str(first[0]), str(second[0]))
    assert verified.returncode == 1
    assert "two logs under one name" in verified.stderr
    exported = run_cli(
        "audit",
        "export",
        "--platform",
        "artstation",
        "-o",
        str(tmp_path / "out"),
        str(first[0]),
        str(second[0]),
    )
    assert exported.returncode == 2
    assert "POLITE_CRAWL_WORKER_ID" in exported.stderr
    del fingerprint


def test_a_worker_with_another_key_is_refused_by_the_fleet_verify(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path, fleet_key: tuple[Path, str]
) -> None:
    key, _ = fleet_key
    web_for_fleet(mockweb)
    other = tmp_path / "other.key"
    assert run_cli("audit", "keygen", str(other)).returncode == 0
    ours = run_workers(mockweb, redis_server, tmp_path / "a", key, ["w0"])
    theirs = run_workers(mockweb, redis_server, tmp_path / "b", other, ["w1"])

    verified = run_cli("audit", "verify", str(ours[0]), str(theirs[0]))
    assert verified.returncode == 1
    assert "fingerprint" in verified.stderr


def test_a_shared_key_is_never_created_and_a_directory_never_changes_key(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path, fleet_key: tuple[Path, str]
) -> None:
    key, _ = fleet_key
    web_for_fleet(mockweb)
    missing = tmp_path / "typo.key"
    prepared = prepare_crawl(
        mockweb,
        tmp_path / "typo",
        [OTHER_HOST + "/"],
        {"POLITE_CRAWL_PURPOSES": ["archiving"], "POLITE_CRAWL_AUDIT_KEY": str(missing)},
    )
    ran = subprocess.run(
        prepared.cmd, cwd=prepared.workdir, env=prepared.env, capture_output=True, text=True
    )
    assert ran.returncode != 0
    assert not missing.exists()
    assert "POLITE_CRAWL_AUDIT_KEY" in ran.stderr
    assert "no such key file" in ran.stderr
    assert mockweb.hits == []

    # A directory first signed by the shared key, then given another: refused at start.
    run_workers(mockweb, redis_server, tmp_path, key, ["w0"])
    other = tmp_path / "other.key"
    assert run_cli("audit", "keygen", str(other)).returncode == 0
    before = len(mockweb.hits)
    prepared = prepare_crawl(
        mockweb,
        tmp_path / "w0",
        [OTHER_HOST + "/"],
        {
            "POLITE_CRAWL_PURPOSES": ["archiving"],
            "POLITE_CRAWL_AUDIT_KEY": str(other),
            "POLITE_CRAWL_WORKER_ID": "w0",
        },
    )
    ran = subprocess.run(
        prepared.cmd, cwd=prepared.workdir, env=prepared.env, capture_output=True, text=True
    )
    assert ran.returncode != 0
    assert "not the key" in ran.stderr
    assert len(mockweb.hits) == before
