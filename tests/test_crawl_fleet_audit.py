"""One record for a fleet: three worker processes on one redis-server, each with its own audit
directory, all signing with one key (POLITE_CRAWL_AUDIT_KEY). `audit verify` takes the three
directories, `audit export --platform` makes one bundle of them, and the bundle verifies against
the fleet's key and shows every worker's requests to the platform; a worker left out of the
export, or its folder removed from the bundle, fails verification.

Ground truth for what each worker fetched is the mock web's record (by User-Agent worker tag).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from polite_crawl.audit import keys
from polite_crawl.audit.note import sign_text
from polite_crawl.audit.verify import sha256_file
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


def export_fleet(out: Path, *dirs: Path | str) -> subprocess.CompletedProcess[str]:
    """`polite-crawl audit export --platform artstation -o OUT DIR...`."""
    return run_cli("audit", "export", "--platform", "artstation", "-o", str(out), *map(str, dirs))


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
    exported = export_fleet(out, *dirs)
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
    made = export_fleet(partial, *dirs[:2])
    assert made.returncode == 0, made.stderr
    checked = run_cli("audit", "verify", str(partial), *pin)
    assert checked.returncode == 1, checked.stdout
    assert "w2" in checked.stderr
    assert "withheld" in checked.stderr

    # The whole fleet, then one worker's folder removed (fleet.json still names it).
    whole = tmp_path / "whole"
    assert export_fleet(whole, *dirs).returncode == 0
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
    key, _ = fleet_key
    web_for_fleet(mockweb)
    first = run_workers(mockweb, redis_server, tmp_path / "a", key, ["same"])
    second = run_workers(mockweb, redis_server, tmp_path / "b", key, ["same"])

    verified = run_cli("audit", "verify", str(first[0]), str(second[0]))
    assert verified.returncode == 1
    assert "two logs under one name" in verified.stderr
    exported = export_fleet(tmp_path / "out", first[0], second[0])
    assert exported.returncode == 2
    assert "POLITE_CRAWL_WORKER_ID" in exported.stderr


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


# Found by review (#17): what a key holder, or anyone, could pass off as a whole fleet.


def _fleet(mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path, key: Path) -> list[Path]:
    """w2 runs first, then w0 and w1 (whose run.start name w2): the three directories."""
    web_for_fleet(mockweb)
    first = run_workers(mockweb, redis_server, tmp_path, key, ["w2"])
    return [*run_workers(mockweb, redis_server, tmp_path, key, ["w0", "w1"]), *first]


def _resign(out: Path, key: Path) -> None:
    """What the operator (the key holder, who makes every fleet export) can always do."""
    private = keys.load(key)
    name = json.loads((out / "workers" / "w0" / "manifest.json").read_text())["origin"]
    name = name.rsplit("/polite-crawl/", 1)[0].split("/", 1)[0] + "/polite-crawl/fleet"
    (out / "fleet.sig").write_text(
        sign_text(f"{name}\n{sha256_file(out / 'fleet.json')}\n", name, private)
    )


def test_a_withheld_worker_passed_off_as_one_without_a_log_is_detected(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path, fleet_key: tuple[Path, str]
) -> None:
    """F6 accepts a peer that fleet.json lists with path null ("no log for this platform"),
    and nothing checks that claim: an empty directory named w2 holding only public.key stands
    in for the real w2, whose artstation log is withheld, with the tool's own export."""
    key, fingerprint = fleet_key
    dirs = _fleet(mockweb, redis_server, tmp_path, key)
    assert (dirs[2] / "logs" / "artstation" / "entries.jsonl").exists()  # w2 did crawl it
    decoy = tmp_path / "decoy" / "w2"
    decoy.mkdir(parents=True)
    shutil.copyfile(dirs[0] / "public.key", decoy / "public.key")
    out = tmp_path / "out"
    made = export_fleet(out, dirs[0], dirs[1], decoy)
    assert made.returncode == 0, made.stderr
    w2 = next(
        w for w in json.loads((out / "fleet.json").read_text())["workers"] if w["name"] == "w2"
    )
    assert w2["path"] is None
    assert w2["head"] is None
    checked = run_cli("audit", "verify", str(out), "--fingerprint", "sha256:" + fingerprint)
    assert checked.returncode == 1, "w2's log withheld, yet: " + checked.stdout


def test_a_fleet_export_binds_each_name_to_its_logs_origin_and_head(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path, fleet_key: tuple[Path, str]
) -> None:
    """fleet.json's name is not tied to the worker export's origin nor its head to that
    export's heads: w0's and w1's logs swapped between names (and heads) still verify."""
    key, fingerprint = fleet_key
    dirs = _fleet(mockweb, redis_server, tmp_path, key)
    out = tmp_path / "out"
    made = export_fleet(out, *dirs)
    assert made.returncode == 0, made.stderr
    head = json.loads((out / "fleet.json").read_text())
    by = {w["name"]: w for w in head["workers"]}
    by["w0"]["name"], by["w1"]["name"] = "w1", "w0"
    by["w0"]["path"], by["w1"]["path"] = "workers/w1", "workers/w0"
    os.rename(out / "workers" / "w0", out / "workers" / "tmp")
    os.rename(out / "workers" / "w1", out / "workers" / "w0")
    os.rename(out / "workers" / "tmp", out / "workers" / "w1")
    (out / "fleet.json").write_text(json.dumps(head, indent=2, sort_keys=True) + "\n")
    _resign(out, key)
    checked = run_cli("audit", "verify", str(out), "--fingerprint", "sha256:" + fingerprint)
    assert checked.returncode == 1, "worker w0 holds w1's log, yet: " + checked.stdout


@pytest.mark.parametrize("kind", ["fifo", "link-to-dev-zero"])
def test_a_worker_manifest_that_is_no_regular_file_fails_and_never_hangs(
    mockweb: MockWeb,
    redis_server: RedisServer,
    tmp_path: Path,
    fleet_key: tuple[Path, str],
    kind: str,
) -> None:
    """(Found by review.) No key needed: a genuine fleet export with workers/w0/manifest.json
    replaced by a FIFO (or a link to /dev/zero) was hashed (F4) before the worker's export
    checks could refuse it, and verify hung."""
    key, fingerprint = fleet_key
    dirs = _fleet(mockweb, redis_server, tmp_path, key)
    out = tmp_path / "out"
    assert export_fleet(out, *dirs).returncode == 0
    manifest = out / "workers" / "w0" / "manifest.json"
    manifest.unlink()
    if kind == "fifo":
        os.mkfifo(manifest)
    else:
        manifest.symlink_to("/dev/zero")
    try:
        checked = subprocess.run(
            [
                sys.executable,
                "-m",
                "polite_crawl.cli",
                "audit",
                "verify",
                str(out),
                "--fingerprint",
                "sha256:" + fingerprint,
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("audit verify hangs on a fleet export's non-regular manifest.json")
    assert checked.returncode == 1, checked.stdout + checked.stderr


def test_a_planted_roster_member_does_not_cost_the_roster(
    mockweb: MockWeb, redis_server: RedisServer, tmp_path: Path, fleet_key: tuple[Path, str]
) -> None:
    """(Found by review.) A member of the roster set that is no worker name (anyone who can
    write the fleet's Redis can add one) made every worker record `peers: null`, and F6 then
    checked nothing: an export with w2 withheld verified. The member is now left out (and
    counted), the roster recorded, and the export without w2 fails."""
    import redis

    redis.Redis.from_url(redis_server.url).sadd("polite_crawl:workers", "not a name")
    key, fingerprint = fleet_key
    dirs = _fleet(mockweb, redis_server, tmp_path, key)
    out = tmp_path / "out"
    made = export_fleet(out, *dirs[:2])
    assert made.returncode == 0, made.stderr
    starts = [
        json.loads(line)
        for line in (out / "workers" / "w0" / "entries.jsonl").read_text().splitlines()
        if '"run.start"' in line
    ]
    assert "w2" in starts[0]["fleet"]["peers"]
    assert starts[0]["fleet"]["foreign"] == 1
    checked = run_cli("audit", "verify", str(out), "--fingerprint", "sha256:" + fingerprint)
    assert checked.returncode == 1, "w2's log withheld, yet: " + checked.stdout
    assert "withheld" in checked.stderr
