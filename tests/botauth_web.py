"""The signing crawl's test harness, shared by the Web Bot Auth crawl tests and `audit match`'s:
a MockWeb that verifies each request's signature as it arrives with http-message-signatures' own
verifier (keys from the key directory `polite-crawl bot-auth directory` wrote, never through
polite_crawl's signing or verifying code), and a crawl run the way an operator runs one."""

from __future__ import annotations

import base64
import datetime
import json
import threading
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
    from collections.abc import Iterator
    from pathlib import Path

    from polite_crawl.testing.crawl import CrawlResult

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
    assert starts, result.log
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
