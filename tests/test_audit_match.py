"""`polite-crawl audit match`: the platform's access log joined to an export.

The access log is the server's own record (every hit the verifying MockWeb received, with the
signature fields as they arrived), written in the documented JSON-lines format; the export and
the key directory are what the operator hands over. A request sent around the add-on, a line
changed after the fact and a nonce received twice must each be named, with exit status 1."""

from __future__ import annotations

import datetime
import json
from typing import TYPE_CHECKING, Any

import pytest
from botauth_web import AGENT, SIGNING, SITE, VerifyingWeb, signed_crawl, site, web

from polite_crawl.audit.keys import PUBLIC_FILE, fingerprint, read_public
from polite_crawl.testing.crawl import run_cli, run_crawl

if TYPE_CHECKING:
    from pathlib import Path

    from polite_crawl.testing.mockweb import Hit
    from polite_crawl.testing.redisserver import RedisServer

__all__ = ["web"]  # the fixture, used by name

PLATFORM = "_sites"  # site.test is no platform's: its decisions go to the sites log


def access_line(hit: Hit) -> dict[str, Any]:
    at = datetime.datetime.fromtimestamp(hit.at, tz=datetime.timezone.utc)
    line: dict[str, Any] = {
        "time": at.isoformat().replace("+00:00", "Z"),
        "method": hit.method,
        "url": hit.url,
    }
    for name in ("signature-input", "signature", "signature-agent"):
        if name in hit.headers:
            line[name] = hit.headers[name]
    return line


def write_log(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def exported(tmp_path: Path) -> Path:
    out = tmp_path / "export"
    proc = run_cli(
        "audit", "export", "--platform", PLATFORM, "-o", str(out), str(tmp_path / "audit")
    )
    assert proc.returncode == 0, proc.stderr
    return out


def match(tmp_path: Path, log: Path, *extra: str) -> tuple[int, str, str]:
    export = tmp_path / "export"
    proc = run_cli(
        "audit", "match", str(export), str(log), "--directory", str(tmp_path / "directory.json"),
        *extra,
    )  # fmt: skip
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def crawled(web: VerifyingWeb, tmp_path: Path) -> list[dict[str, Any]]:
    """A signed crawl's export, and the server's access log of it."""
    site(web)
    result = signed_crawl(web, tmp_path, [SITE + "/"])
    assert result.returncode == 0, result.log
    assert web.failures() == []
    exported(tmp_path)
    return [access_line(hit) for hit in web.hits]


def test_every_signed_request_matches_its_record(
    web: VerifyingWeb, tmp_path: Path, crawled: list[dict[str, Any]]
) -> None:
    log = write_log(tmp_path / "access.jsonl", crawled)

    code, out, err = match(tmp_path, log)

    assert code == 0, out + err
    assert f"matched: {len(web.nonces())} signed requests" in out
    assert len(web.nonces()) == len(crawled) >= 6  # robots.txt, pages, a redirect and its hop
    assert "vouched for by directory key" in out  # the log key, named by a bot-auth binding
    assert "every signed request matched" in out


def test_the_log_key_can_be_pinned_instead(tmp_path: Path, crawled: list[dict[str, Any]]) -> None:
    log = write_log(tmp_path / "access.jsonl", crawled)
    key = fingerprint(read_public(tmp_path / "audit" / PUBLIC_FILE))
    export = tmp_path / "export"

    pinned = run_cli("audit", "match", str(export), str(log), "--fingerprint", f"sha256:{key}")
    wrong = run_cli("audit", "match", str(export), str(log), "--fingerprint", "sha256:" + "0" * 64)
    nothing = run_cli("audit", "match", str(export), str(log))

    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    assert "pinned" in pinned.stdout
    assert wrong.returncode == 1
    assert "not the operator's key" in wrong.stderr
    assert nothing.returncode == 2
    assert "give --directory FILE" in nothing.stderr


def test_the_report_is_available_as_json(tmp_path: Path, crawled: list[dict[str, Any]]) -> None:
    unsigned = {k: crawled[0][k] for k in ("time", "method", "url")}
    log = write_log(tmp_path / "access.jsonl", [*crawled, unsigned])

    code, out, err = match(tmp_path, log, "--json")

    assert code == 0, out + err
    report = json.loads(out)
    assert report["ok"] is True
    assert report["matched"] == len(crawled)
    # A request with no signature fields: not this operator's (each one it sends is signed).
    assert report["unsigned"] == 1
    assert report["findings"] == []


def test_a_changed_line_is_a_signature_that_does_not_verify(
    tmp_path: Path, crawled: list[dict[str, Any]]
) -> None:
    n = next(i for i, line in enumerate(crawled) if line["url"] == SITE + "/a")
    changed = [*crawled]
    changed[n] = {**crawled[n], "url": SITE + "/admin"}
    log = write_log(tmp_path / "access.jsonl", changed)

    code, out, _ = match(tmp_path, log)

    assert code == 1
    (problem,) = [line for line in out.splitlines() if line.startswith("PROBLEM")]
    assert problem.startswith(f"PROBLEM bad_signature (line {n + 1}): GET {SITE}/admin:")
    assert "recorded but never received: 1 of" in out  # /a's nonce, as far as the log shows


def test_a_nonce_received_twice_is_a_replay(tmp_path: Path, crawled: list[dict[str, Any]]) -> None:
    n = next(i for i, line in enumerate(crawled) if line["url"] == SITE + "/a")
    log = write_log(tmp_path / "access.jsonl", [*crawled, crawled[n]])

    code, out, _ = match(tmp_path, log)

    assert code == 1
    assert f"PROBLEM replayed (line {len(crawled) + 1}): GET {SITE}/a: nonce " in out
    assert f"was received at line {n + 1}" in out


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("not json", "access.jsonl:2: not JSON"),
        ('{"method": "GET", "url": "http://site.test/"}', 'access.jsonl:2: "time" must be'),
        (
            '{"time": "2026-12-06 05:00", "method": "GET", "url": "http://site.test/"}',
            "is not an RFC 3339 date-time",
        ),
        (
            '{"time": "2026-12-06T05:00:00Z", "method": "GET", "url": "/a"}',
            "is not an absolute http(s) URL",
        ),
        (
            '{"time": "2026-12-06T05:00:00Z", "method": "GET", "url": "http://a.test/", '
            '"signature": 1}',
            '"signature" must be a string',
        ),
    ],
)
def test_an_access_log_that_cannot_be_read_is_bad_input(
    tmp_path: Path, crawled: list[dict[str, Any]], line: str, error: str
) -> None:
    log = tmp_path / "access.jsonl"
    log.write_text(json.dumps(crawled[0]) + "\n" + line + "\n")

    code, out, err = match(tmp_path, log)

    assert code == 2
    assert error in err
    assert "matched" not in out


AROUND = """
import os
from pathlib import Path
from urllib.parse import urlsplit

import scrapy
from scrapy.utils.defer import maybe_deferred_to_future

from polite_crawl.botauth.key import load_or_create
from polite_crawl.botauth.params import fresh_params
from polite_crawl.botauth.sign import Signer

AGENT = "@AGENT@"


class Around(scrapy.Spider):
    # One request signed with the crawl's own key and sent by a plain Twisted client, around
    # the add-on: no record holds its nonce.
    name = "around"

    async def start(self):
        from twisted.internet import reactor
        from twisted.internet.endpoints import TCP4ClientEndpoint
        from twisted.web.client import ProxyAgent, readBody
        from twisted.web.http_headers import Headers

        url = "http://site.test/b"
        key = load_or_create(Path(self.settings["POLITE_CRAWL_AUDIT_DIR"]) / "bot-auth.key")
        params = fresh_params("GET", url, key.keyid, signature_agent=AGENT)
        signed = Signer(key).sign("GET", url, params, AGENT)
        proxy = urlsplit(os.environ["http_proxy"])
        agent = ProxyAgent(TCP4ClientEndpoint(reactor, proxy.hostname, proxy.port))
        headers = Headers({k: [v] for k, v in signed.headers().items()})
        response = await maybe_deferred_to_future(agent.request(b"GET", url.encode(), headers))
        await maybe_deferred_to_future(readBody(response))
        yield scrapy.Request("http://site.test/")

    def parse(self, response):
        pass
""".replace("@AGENT@", AGENT)


def test_a_request_sent_around_the_add_on_is_not_in_the_export(
    web: VerifyingWeb, tmp_path: Path
) -> None:
    site(web)
    result = signed_crawl(web, tmp_path, [], spider_code=AROUND)
    assert result.returncode == 0, result.log
    assert web.failures() == []  # the server saw a valid signature by the operator's key
    exported(tmp_path)
    log = write_log(tmp_path / "access.jsonl", [access_line(hit) for hit in web.hits])

    code, out, _ = match(tmp_path, log)

    assert code == 1
    (problem,) = [line for line in out.splitlines() if line.startswith("PROBLEM")]
    assert f"PROBLEM not_in_export (line 1): GET {SITE}/b: signed with key " in problem
    assert "no record in the export holds it" in problem


def test_a_key_rotation_matches_with_both_keys_published(
    web: VerifyingWeb, tmp_path: Path
) -> None:
    # The operator's rotation: the old key signs a first crawl; a new key is made and listed
    # beside it; the next crawl names it (POLITE_CRAWL_BOT_AUTH_KEY). The export holds both
    # runs, each run.start naming its key.
    site(web)
    first = signed_crawl(web, tmp_path, [SITE + "/"])
    assert first.returncode == 0, first.log
    new_key = tmp_path / "bot-auth-2.key"
    both = tmp_path / "directory.json"
    proc = run_cli(
        "bot-auth", "directory", str(tmp_path / "audit"), "-o", str(both),
        "--key", str(tmp_path / "audit" / "bot-auth.key"), "--key", str(new_key), "--create",
        "--signature-agent", AGENT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    directory = json.loads(both.read_bytes())
    assert len(directory["keys"]) == 2
    web.trust(directory)
    second = run_crawl(
        web,
        tmp_path,
        [SITE + "/?again"],
        {
            "POLITE_CRAWL_PURPOSES": ["archiving"],
            **SIGNING,
            "POLITE_CRAWL_BOT_AUTH_KEY": str(new_key),
        },
    )
    assert second.returncode == 0, second.log
    assert web.failures() == []
    keyids = [r["bot_auth_keyid"] for r in second.audit if r["type"] == "run.start"]
    assert len(set(keyids)) == 2  # one run per key
    exported(tmp_path)
    log = write_log(tmp_path / "access.jsonl", [access_line(hit) for hit in web.hits])

    code, out, err = match(tmp_path, log)
    assert code == 0, out + err

    # A directory with the new key only: the old run's requests no longer verify.
    proc = run_cli(
        "bot-auth", "directory", str(tmp_path / "audit"), "-o", str(both), "--key", str(new_key)
    )
    assert proc.returncode == 0, proc.stderr
    code, out, _ = match(tmp_path, log)
    assert code == 1
    assert "is not among the keys given" in out


def test_a_named_key_file_that_does_not_exist_stops_the_crawl(
    web: VerifyingWeb, tmp_path: Path
) -> None:
    site(web)
    missing = tmp_path / "typo.key"

    result = run_crawl(
        web,
        tmp_path,
        [SITE + "/"],
        {
            "POLITE_CRAWL_PURPOSES": ["archiving"],
            **SIGNING,
            "POLITE_CRAWL_BOT_AUTH_KEY": str(missing),
        },
    )

    assert result.returncode != 0
    assert f"POLITE_CRAWL_BOT_AUTH_KEY = '{missing}': {missing}: no Web Bot Auth key" in result.log
    assert web.hits == []
    assert not missing.exists()


def test_a_fleet_export_matches_every_workers_signed_requests(
    web: VerifyingWeb, tmp_path: Path, redis_server: RedisServer
) -> None:
    # Two workers of one fleet (one Redis, one log key, one bot-auth key): the platform joins
    # its access log to the fleet export, and every signed request it received is in one
    # worker's records.
    site(web)
    key = tmp_path / "fleet.key"
    assert run_cli("audit", "keygen", str(key)).returncode == 0
    keydir = tmp_path / "botauth"
    made = run_cli(
        "bot-auth", "directory", str(keydir), "-o", str(tmp_path / "directory.json"),
        "--signature-agent", AGENT, "--create",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    web.trust(json.loads((tmp_path / "directory.json").read_bytes()))
    dirs = []
    for worker in ("w0", "w1"):
        result = run_crawl(
            web, tmp_path / worker, [SITE + "/"],
            {"POLITE_CRAWL_PURPOSES": ["archiving"], **SIGNING,
             "POLITE_CRAWL_BOT_AUTH_KEY": str(keydir / "bot-auth.key"),
             "POLITE_CRAWL_AUDIT_KEY": str(key), "POLITE_CRAWL_WORKER_ID": worker,
             "POLITE_CRAWL_REDIS_URL": redis_server.url},
        )  # fmt: skip
        assert result.returncode == 0, result.log
        dirs.append(str(tmp_path / worker / "audit"))
    assert web.failures() == []
    out = tmp_path / "export"
    made = run_cli("audit", "export", "--platform", PLATFORM, "-o", str(out), *dirs)
    assert made.returncode == 0, made.stderr
    log = write_log(tmp_path / "access.jsonl", [access_line(hit) for hit in web.hits])

    code, out_text, err = match(tmp_path, log)

    assert code == 0, out_text + err
    assert f"matched: {len(web.nonces())} signed requests" in out_text
    fleet = json.loads((out / "fleet.json").read_text())
    assert all(w["records"] > 0 for w in fleet["workers"])  # both workers' requests joined

    # One worker's part of the access log joined to the other's export alone: its requests
    # are not in that export.
    single = tmp_path / "single"
    assert (
        run_cli("audit", "export", "--platform", PLATFORM, "-o", str(single), dirs[0]).returncode
        == 0
    )
    proc = run_cli(
        "audit", "match", str(single), str(log), "--directory", str(tmp_path / "directory.json")
    )
    assert proc.returncode == 1
    assert "not_in_export" in proc.stdout
