"""Web Bot Auth in a real crawl: every request that reaches the server is signed, and the nonce
of every signature it received is in exactly one audit record written before it was sent.

Ground truth is the server's: a MockWeb that verifies each request as it arrives with
http-message-signatures' own HTTPMessageVerifier, its keys read from the key directory that
`polite-crawl bot-auth directory` wrote (not through polite_crawl's signing or verifying code),
and keeps every nonce it received."""

from __future__ import annotations

import base64
import datetime
import json
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

import http_sf
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import HTTPMessageVerifier, algorithms
from http_message_signatures.exceptions import HTTPMessageSignaturesException
from http_message_signatures.resolvers import HTTPSignatureKeyResolver

from polite_crawl.testing.crawl import run_cli, run_crawl
from polite_crawl.testing.mockweb import Hit, MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]

SITE = "http://site.test"
AGENT = "https://crawler.example.org"
SIGNING = {"POLITE_CRAWL_WEB_BOT_AUTH": True, "POLITE_CRAWL_SIGNATURE_AGENT": AGENT}


class DirectoryKeys(HTTPSignatureKeyResolver):
    """The library's key resolver interface, from a key directory's JSON (JWKS) alone."""

    def __init__(self, directory: dict[str, Any]) -> None:
        self.keys = {
            jwk["kid"]: Ed25519PublicKey.from_public_bytes(
                base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
            )
            for jwk in directory["keys"]
            if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519"
        }

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey:
        return self.keys[key_id]


class VerifyingWeb(MockWeb):
    """A MockWeb that checks each request's signature when it arrives (created and expires
    against the server's clock then) and keeps what it found: per hit, the nonce of a valid
    signature, or the reason there is none."""

    def __init__(self) -> None:
        super().__init__()
        self.verifier: HTTPMessageVerifier | None = None
        self.agent: str | None = AGENT  # the Signature-Agent expected (None: none sent)
        self.checked: list[tuple[Hit, str | None, str | None]] = []  # hit, nonce, error
        self._check_lock = threading.Lock()

    def trust(self, directory: dict[str, Any]) -> None:
        self.verifier = HTTPMessageVerifier(
            signature_algorithm=algorithms.ED25519, key_resolver=DirectoryKeys(directory)
        )

    def record(self, hit: Hit) -> None:
        super().record(hit)
        nonce, error = self._check(hit)
        with self._check_lock:
            self.checked.append((hit, nonce, error))

    def _check(self, hit: Hit) -> tuple[str | None, str | None]:
        if "signature" not in hit.headers:
            return None, "unsigned"
        if self.verifier is None:
            return None, "no key directory"
        message = requests.Request(hit.method, hit.url, headers=dict(hit.header_lines)).prepare()
        try:
            (result,) = self.verifier.verify(message, max_age=datetime.timedelta(minutes=5))
        except (HTTPMessageSignaturesException, ValueError, KeyError) as exc:
            return None, f"{type(exc).__name__}: {exc}"
        params = result.parameters
        if params.get("tag") != "web-bot-auth":
            return None, f"tag {params.get('tag')!r}"
        covered = [str(c) for c in result.covered_components]
        if self.agent is None:
            if "signature-agent" in hit.headers or any("signature-agent" in c for c in covered):
                return None, "a Signature-Agent although none is configured"
            return str(params["nonce"]), None
        agent: Any = http_sf.parse(hit.headers["signature-agent"].encode(), tltype="dictionary")
        if result.label not in agent or agent[result.label][0] != self.agent:
            return None, f"Signature-Agent {hit.headers['signature-agent']!r}"
        if not any("signature-agent" in c for c in covered):
            return None, f"Signature-Agent not covered: {covered}"
        return str(params["nonce"]), None

    def nonces(self) -> list[str]:
        return [nonce for _, nonce, _ in self.checked if nonce is not None]

    def failures(self) -> list[tuple[str, str | None]]:
        return [(hit.url, error) for hit, _, error in self.checked if error is not None]


@pytest.fixture
def web() -> Iterator[VerifyingWeb]:
    server = VerifyingWeb()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def signed_crawl(
    web: VerifyingWeb,
    workdir: Path,
    start: list[str],
    settings: dict[str, Any] | None = None,
    **kwargs: Any,
) -> CrawlResult:
    """The operator's order: the key made and its directory written (`--create`), published
    (the server trusts it), then the crawl, which finds the key and uses it."""
    audit = workdir / "audit"
    out = workdir / "directory.json"
    proc = run_cli(
        "bot-auth", "directory", str(audit), "-o", str(out), "--signature-agent", AGENT, "--create"
    )
    assert proc.returncode == 0, proc.stderr
    directory = json.loads(out.read_bytes())
    web.trust(directory)
    result = run_crawl(
        web,
        workdir,
        start,
        {"POLITE_CRAWL_PURPOSES": ["archiving"], **SIGNING, **(settings or {})},
        **kwargs,
    )
    (kid,) = [k["kid"] for k in directory["keys"]]
    starts = [r for r in result.audit if r["type"] == "run.start"]
    assert starts
    assert {r["bot_auth_keyid"] for r in starts} == {kid}
    return result


def recorded_nonces(result: CrawlResult) -> list[str]:
    """The nonce of every signature the audit log says was made for a request to be sent."""
    return [
        r["signature"]["nonce"]
        for r in result.audit
        if r["type"] in ("decision", "request.signed") and "signature" in r
    ]


def superseded(result: CrawlResult) -> set[str]:
    """Nonces of decisions whose parameters were replaced at the wire, never sent."""
    return {
        r["replaces"] for r in result.audit if r["type"] == "request.signed" and "replaces" in r
    }


def site(web: MockWeb, robots: str = "User-agent: *\nAllow: /\n") -> None:
    web.add(SITE + "/robots.txt", Resp(body=robots))
    web.add(SITE + "/", page("/a", "/old"))
    web.add(SITE + "/a", page("/b?q=1"))
    web.add(SITE + "/b", page())
    web.add(SITE + "/old", Resp(301, headers={"Location": SITE + "/new"}))
    web.add(SITE + "/new", page())


def test_every_request_sent_is_signed_and_its_nonce_recorded_once(
    web: VerifyingWeb, tmp_path: Path
) -> None:
    site(web)
    # An AI purpose: tdmrep.json and ai.txt are asked for too, every preflight kind.
    result = signed_crawl(web, tmp_path, [SITE + "/"], {"POLITE_CRAWL_PURPOSES": ["ai-training"]})

    assert result.returncode == 0, result.log
    paths = {h.path for h in web.hits}
    assert {"/robots.txt", "/", "/a", "/b?q=1", "/old", "/new"} <= paths, paths
    assert web.failures() == []
    received = web.nonces()
    assert len(received) == len(web.hits)
    assert all(n == 1 for n in Counter(received).values())  # each nonce sent once
    recorded = recorded_nonces(result)
    assert all(n == 1 for n in Counter(recorded).values())  # in exactly one record
    assert set(received) == set(recorded) - superseded(result)
    # Preflights: signed with parameters recorded before they were sent.
    pre = [r for r in result.audit if r["type"] == "request.signed"]
    assert {(r["url"], r["cause"], r["kind"]) for r in pre} == {
        (SITE + "/robots.txt", "preflight", "robots"),
        (SITE + "/.well-known/tdmrep.json", "preflight", "tdmrep"),
        (SITE + "/ai.txt", "preflight", "aitxt"),
    }
    # A redirect target is its own decision, with its own nonce.
    by_url = {r["url"]: r for r in result.audit if r["type"] == "decision"}
    old, new = by_url[SITE + "/old"], by_url[SITE + "/new"]
    assert old["signature"]["nonce"] != new["signature"]["nonce"]
    assert "?q=1" in by_url[SITE + "/b?q=1"]["url"]
    assert "@query" in by_url[SITE + "/b?q=1"]["signature"]["components"]
    # What the log keeps: the parameters and the base's hash, never the signature.
    sig = by_url[SITE + "/"]["signature"]
    assert set(sig) == {
        "label", "nonce", "created", "expires", "keyid", "components", "base_sha256"
    }  # fmt: skip
    sent = {h.headers["signature"] for h in web.hits}
    text = "".join(p.read_text() for p in (tmp_path / "audit").glob("logs/*/entries.jsonl"))
    assert not any(value.split(":")[1] in text for value in sent)
    # Each record was durable before its request went: it precedes the response's record.
    order = [(r["type"], r.get("url")) for r in result.audit]
    assert order.index(("decision", SITE + "/a")) < order.index(("fetched", SITE + "/a"))
    # The new record type verifies: the verifier counts it and applies no other rule.
    verified = run_cli("audit", "verify", str(tmp_path / "audit"))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_without_a_signature_agent_requests_are_signed_without_one(
    web: VerifyingWeb, tmp_path: Path
) -> None:
    site(web)
    web.agent = None

    result = signed_crawl(web, tmp_path, [SITE + "/"], {"POLITE_CRAWL_SIGNATURE_AGENT": None})

    assert result.returncode == 0, result.log
    assert web.fetched(SITE + "/a")
    assert web.failures() == []
    assert sorted(web.nonces()) == sorted(recorded_nonces(result))


def test_the_directory_url_as_signature_agent_sends_its_origin(
    web: VerifyingWeb, tmp_path: Path
) -> None:
    # The contract names the setting "the https URL where the key directory is served"; the
    # header carries that URL's origin (the draft's `directory` member type), which the
    # verifier turns back into the directory's URL.
    site(web)
    given = AGENT + "/.well-known/http-message-signatures-directory"

    result = signed_crawl(web, tmp_path, [SITE + "/"], {"POLITE_CRAWL_SIGNATURE_AGENT": given})

    assert result.returncode == 0, result.log
    assert web.fetched(SITE + "/a")
    assert web.failures() == []  # every Signature-Agent was sig1="https://crawler.example.org"
    assert sorted(web.nonces()) == sorted(recorded_nonces(result))


def test_report_only_signs_what_it_lets_through(web: VerifyingWeb, tmp_path: Path) -> None:
    site(web, robots="User-agent: *\nDisallow: /a\n")

    result = signed_crawl(web, tmp_path, [SITE + "/"], {"POLITE_CRAWL_MODE": "report"})

    assert result.returncode == 0, result.log
    assert web.fetched(SITE + "/a")
    assert web.failures() == []
    (would_deny,) = [r for r in result.audit if r.get("url") == SITE + "/a"][:1]
    assert would_deny["enforced"] is False
    assert "signature" in would_deny
    assert set(web.nonces()) == set(recorded_nonces(result)) - superseded(result)


def test_with_signing_off_nothing_is_signed(mockweb: MockWeb, crawl: Crawl) -> None:
    site(mockweb)

    result = crawl([SITE + "/"], {"POLITE_CRAWL_SIGNATURE_AGENT": AGENT})

    assert result.returncode == 0, result.log
    assert mockweb.fetched(SITE + "/a")
    for hit in mockweb.hits:
        assert not {"signature", "signature-input", "signature-agent"} & set(hit.headers)
    assert not [r for r in result.audit if "signature" in r or r["type"] == "request.signed"]
    assert not [r for r in result.audit if "bot_auth_keyid" in r]


def test_parameters_gone_stale_in_a_crawl_delay_queue_are_renewed_and_recorded_first(
    web: VerifyingWeb, tmp_path: Path
) -> None:
    # Lifetime 10 s, fresh while 5 s remain: a request waiting 6 s behind the Crawl-delay
    # would carry a signature about to expire. It gets new parameters, recorded first.
    web.add(SITE + "/robots.txt", Resp(body="User-agent: *\nAllow: /\nCrawl-delay: 6\n"))
    web.add(SITE + "/", page("/a"))
    web.add(SITE + "/a", page())

    result = signed_crawl(web, tmp_path, [SITE + "/"], {"POLITE_CRAWL_SIGNATURE_TTL": 10})

    assert result.returncode == 0, result.log
    assert web.fetched(SITE + "/a")
    assert web.failures() == []
    signed = [r for r in result.audit if r["type"] == "request.signed"]
    renewed = [r for r in signed if r["cause"] == "expired"]
    assert {r["url"] for r in renewed} >= {SITE + "/a"}
    received = web.nonces()
    recorded = recorded_nonces(result)
    assert all(n == 1 for n in Counter(recorded).values())
    assert set(received) == set(recorded) - superseded(result)
    assert {r["replaces"] for r in renewed} <= set(recorded) - set(received)
    for r in renewed:  # the new record comes before the response
        assert r["signature"]["nonce"] in received
        order = [(x["type"], x.get("url")) for x in result.audit]
        assert order.index(("request.signed", r["url"])) < order.index(("fetched", r["url"]))
    assert result.stat("polite_crawl/bot_auth/signed_at_wire/expired") >= 1


def test_a_redirected_preflight_hop_is_signed_with_its_own_recorded_nonce(
    web: VerifyingWeb, tmp_path: Path
) -> None:
    web.add(SITE + "/robots.txt", Resp(301, headers={"Location": SITE + "/rules.txt"}))
    web.add(SITE + "/rules.txt", Resp(body="User-agent: *\nAllow: /\n"))
    web.add(SITE + "/", page())

    result = signed_crawl(web, tmp_path, [SITE + "/"])

    assert result.returncode == 0, result.log
    assert [h.path for h in web.hits] == ["/robots.txt", "/rules.txt", "/"]
    assert web.failures() == []
    pre = [r for r in result.audit if r["type"] == "request.signed"]
    assert [(r["url"], r["kind"]) for r in pre] == [
        (SITE + "/robots.txt", "robots"),
        (SITE + "/rules.txt", "robots"),
    ]
    assert sorted(web.nonces()) == sorted(recorded_nonces(result))


REWRITE = """
import scrapy


class Rewrite:
    # Changes the URL of the request the gate allowed (a private API), after the gate.
    def process_request(self, request, spider=None):
        if request.url.endswith("/a"):
            request._set_url("http://site.test/b")


class Plain(scrapy.Spider):
    name = "plain"
    custom_settings = {"DOWNLOADER_MIDDLEWARES": {"run_spider.Rewrite": 700}}

    async def start(self):
        yield scrapy.Request("http://site.test/a")

    def parse(self, response):
        pass
"""


def test_a_changed_request_report_only_lets_through_is_signed_as_sent(
    web: VerifyingWeb, tmp_path: Path
) -> None:
    site(web)

    result = signed_crawl(web, tmp_path, [], {"POLITE_CRAWL_MODE": "report"}, spider_code=REWRITE)

    assert result.returncode == 0, result.log
    assert web.fetched(SITE + "/b")
    assert not web.fetched(SITE + "/a")
    assert web.failures() == []
    (changed,) = [r for r in result.audit if r.get("cause") == "changed"]
    assert changed["url"] == SITE + "/b"
    assert "@path" in changed["signature"]["components"]
    assert set(web.nonces()) == set(recorded_nonces(result)) - superseded(result)
    (allow,) = [r for r in result.audit if r["type"] == "decision" and r["url"] == SITE + "/a"]
    assert changed["replaces"] == allow["signature"]["nonce"]
    assert allow["signature"]["nonce"] not in web.nonces()


UNSIGNABLE = """
import scrapy

from polite_crawl.botauth import sign
from polite_crawl.botauth.errors import BotAuthError

_sign = sign.Signer.sign


def failing(self, method, url, params, signature_agent=None):
    if "nosign" in url:  # a signature that cannot be made, at decision time or at the wire
        raise BotAuthError(f"test: cannot sign {url}")
    return _sign(self, method, url, params, signature_agent)


sign.Signer.sign = failing


class Plain(scrapy.Spider):
    name = "plain"

    async def start(self):
        yield scrapy.Request("http://site.test/")
        yield scrapy.Request("http://site.test/nosign")
        yield scrapy.Request("http://nosign.test/")  # its robots.txt preflight cannot be signed

    def parse(self, response):
        pass
"""


@pytest.mark.parametrize("mode", ["enforce", "report"])
def test_a_request_that_cannot_be_signed_is_not_sent(
    web: VerifyingWeb, tmp_path: Path, mode: str
) -> None:
    site(web)
    web.add("http://nosign.test/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
    web.add("http://nosign.test/", page())

    result = signed_crawl(web, tmp_path, [], {"POLITE_CRAWL_MODE": mode}, spider_code=UNSIGNABLE)

    assert result.returncode == 0, result.log
    assert web.fetched(SITE + "/")
    assert not [h for h in web.hits if "nosign" in h.url]
    assert web.failures() == []
    refused = {
        r["url"]: r
        for r in result.audit
        if r.get("decision") == "deny" and r["reason"] == "wire.not_signed"
    }
    expected = {SITE + "/nosign", "http://nosign.test/robots.txt"}
    if mode == "report":  # robots.txt unreachable would refuse it; report-only lets it go
        expected.add("http://nosign.test/")
    assert set(refused) == expected
    assert all(r["enforced"] is True and "signature" not in r for r in refused.values())
    assert result.stat("polite_crawl/denied/wire.not_signed") == len(expected)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"POLITE_CRAWL_SIGNATURE_AGENT": "http://crawler.example.org"},
            "POLITE_CRAWL_SIGNATURE_AGENT = 'http://crawler.example.org': Value error, "
            "Signature-Agent 'http://crawler.example.org': must be an https URL",
        ),
        (
            {"POLITE_CRAWL_SIGNATURE_AGENT": "https://crawler.example.org/keys/directory.json"},
            "must be an origin, like https://crawler.example.org, or the key directory's URL",
        ),
        (
            {"POLITE_CRAWL_WEB_BOT_AUTH": True, "KEY": b"not a key"},
            "POLITE_CRAWL_WEB_BOT_AUTH = True: ",
        ),
        ({"POLITE_CRAWL_SIGNATURE_TTL": 3}, "POLITE_CRAWL_SIGNATURE_TTL = 3: Input should be"),
    ],
    ids=["http-agent", "other-path-agent", "unusable-key", "ttl-too-short"],
)
def test_a_crawl_with_bad_signing_settings_refuses_to_start(
    mockweb: MockWeb, tmp_path: Path, settings: dict[str, Any], message: str
) -> None:
    mockweb.add(SITE + "/", page())
    settings = dict(settings)
    key = settings.pop("KEY", None)
    audit = tmp_path / "audit"
    if key is not None:
        audit.mkdir()
        (audit / "bot-auth.key").write_bytes(key)
        (audit / "bot-auth.key").chmod(0o600)

    result = run_crawl(
        mockweb, tmp_path, [SITE + "/"], {"POLITE_CRAWL_PURPOSES": ["archiving"], **settings}
    )

    assert result.returncode != 0
    assert "polite_crawl: the crawl cannot start: " in result.log
    assert message in result.log
    if key is not None:
        assert f"{audit / 'bot-auth.key'}: not a usable PEM private key" in result.log
    assert mockweb.hits == []
