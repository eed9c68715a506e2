"""Signing with fresh parameters, verified the way a platform would: against the JWK of the key
directory that `polite-crawl bot-auth directory` wrote; and every tampering fails."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import threading
from typing import TYPE_CHECKING

import pytest

from polite_crawl.botauth.agent import MEDIA_TYPE
from polite_crawl.botauth.directory import verify_directory
from polite_crawl.botauth.errors import BotAuthError, SignatureInvalid
from polite_crawl.botauth.key import BotAuthKey, key_path, load_or_create
from polite_crawl.botauth.keyset import keys_from_directory, keys_from_jwk
from polite_crawl.botauth.params import (
    DEFAULT_TTL,
    SignatureParams,
    covered_components,
    fresh_params,
)
from polite_crawl.botauth.sign import SignedHeaders, Signer
from polite_crawl.botauth.verify import verify_request
from polite_crawl.testing.crawl import run_cli

if TYPE_CHECKING:
    from polite_crawl.botauth.keyset import KeySet

AGENT = "https://crawler.example.org"
URL = "https://shop.example.com/items/42?page=2&sort=new"
NOW = 1_800_000_000.0


def clock() -> float:
    return NOW


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[BotAuthKey, KeySet]:
    """The crawler's key, and the keys a platform reads from the directory the CLI wrote."""
    tmp = tmp_path_factory.mktemp("botauth")
    audit, out = tmp / "audit", tmp / "directory.json"
    proc = run_cli(
        "bot-auth", "directory", str(audit), "-o", str(out), "--create",
        "--signature-agent", AGENT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    key = load_or_create(key_path(audit), create=False)
    assert f"keyid {key.keyid}" in proc.stdout
    assert f"{AGENT}/.well-known/http-message-signatures-directory" in proc.stdout
    body = out.read_bytes()
    headers = [
        tuple(line.split(": ", 1))
        for line in (tmp / "directory.json.headers").read_text().splitlines()
    ]
    assert ("Content-Type", MEDIA_TYPE) in headers
    assert verify_directory(body, headers, AGENT) == {key.keyid}  # type: ignore[arg-type]
    [jwk] = json.loads(body)["keys"]
    return key, keys_from_jwk(jwk)


def _sign(
    key: BotAuthKey, method: str = "GET", url: str = URL
) -> tuple[SignatureParams, SignedHeaders]:
    params = fresh_params(method, url, key.keyid, signature_agent=AGENT, clock=clock)
    return params, Signer(key).sign(method, url, params, AGENT)


def test_fresh_params_cover_the_request_and_its_signature_agent() -> None:
    params = fresh_params("GET", URL, "kid", signature_agent=AGENT, clock=clock)

    assert params.components == (
        "@authority", "@method", "@path", "@query", '"signature-agent";key="sig1"',
    )  # fmt: skip
    assert (params.label, params.tag, params.keyid) == ("sig1", "web-bot-auth", "kid")
    assert (params.created, params.expires) == (int(NOW), int(NOW) + int(DEFAULT_TTL))
    assert params.agent_member == "sig1"
    assert params.nonce is not None
    assert len(base64.b64decode(params.nonce, validate=True)) == 64


def test_a_url_without_query_and_no_signature_agent_cover_less() -> None:
    assert covered_components("https://a.example/x", None) == ("@authority", "@method", "@path")
    # An empty query is a query: @query covers "?" then.
    assert "@query" in covered_components("https://a.example/x?", None)
    assert "@query" not in covered_components("https://a.example/x#frag?not-a-query", None)
    params = fresh_params("GET", "https://a.example/x", "kid", clock=clock, ttl=300, label="bot")
    assert params.agent_member is None
    assert (params.label, params.expires - params.created) == ("bot", 300)


def test_every_nonce_is_new() -> None:
    nonces = {fresh_params("GET", URL, "k", clock=clock).nonce for _ in range(200)}

    assert len(nonces) == 200


def test_fresh_params_refuse_a_bad_method_or_lifetime() -> None:
    with pytest.raises(BotAuthError, match="upper case"):
        fresh_params("get", URL, "k")
    with pytest.raises(BotAuthError, match="lifetime"):
        fresh_params("GET", URL, "k", ttl=2 * 86400)


def test_freshness_leaves_a_margin_before_expiry() -> None:
    params = fresh_params("GET", URL, "k", clock=clock, ttl=60)

    assert params.fresh_at(NOW + 54)
    assert not params.fresh_at(NOW + 55)


def test_a_signed_request_verifies_against_the_published_directory(
    published: tuple[BotAuthKey, KeySet],
) -> None:
    key, keys = published
    params, signed = _sign(key)

    verified = verify_request("GET", URL, signed.headers(), keys, at=NOW + 1)

    assert verified.params == params
    assert verified.signature_agent == AGENT
    assert verified.base_sha256 == signed.base_sha256
    assert signed.signature_agent == f'sig1="{AGENT}"'
    assert signed.signature_input.startswith(
        'sig1=("@authority" "@method" "@path" "@query" "signature-agent";key="sig1");'
        f'created={int(NOW)};keyid="{key.keyid}";alg="ed25519";expires={int(NOW) + 60};nonce="'
    )
    assert signed.signature_input.endswith(f'{params.nonce}";tag="web-bot-auth"')
    # The record a crawl would keep holds the hash of the base, never the signature.
    record = {**params.record(), "base_sha256": signed.base_sha256}
    assert signed.signature.split(":")[1] not in json.dumps(record)


def test_a_request_in_a_servers_byte_form_verifies(published: tuple[BotAuthKey, KeySet]) -> None:
    # As a server (or an access log) holds it: byte pairs, other fields around, any case.
    from polite_crawl.botauth.message import Headers

    key, keys = published
    _, signed = _sign(key)
    raw = [(b"host", b"shop.example.com"), (b"user-agent", b"examplebot/1.0")]
    raw += [(n.lower().encode(), v.encode()) for n, v in signed.headers().items()]

    verified = verify_request("GET", URL, Headers.from_raw(raw).items(), keys, at=NOW)

    assert verified.signature_agent == AGENT


TAMPERINGS = [
    "path", "query", "method", "authority", "port", "nonce", "signature-agent",
    "expired", "not-yet-created", "other-key", "no-signature",
]  # fmt: skip


def _tampered(key: BotAuthKey, what: str) -> tuple[str, str, dict[str, str], float, str]:
    """(method, url, headers, at, error) for `what` changed after signing."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    params, signed = _sign(key)
    h = signed.headers()
    nonce = params.nonce or ""
    other = BotAuthKey.of(Ed25519PrivateKey.generate())
    cases = {
        "path": ("GET", URL.replace("/42", "/43"), h, NOW, "does not verify"),
        "query": ("GET", URL.replace("page=2", "page=3"), h, NOW, "does not verify"),
        "method": ("POST", URL, h, NOW, "does not verify"),
        "authority": ("GET", URL.replace("shop.", "www."), h, NOW, "does not verify"),
        "port": ("GET", URL.replace(".com/", ".com:8443/"), h, NOW, "does not verify"),
        "nonce": (
            "GET",
            URL,
            {**h, "Signature-Input": h["Signature-Input"].replace(nonce, nonce[::-1])},
            NOW,
            "does not verify",
        ),
        "signature-agent": (
            "GET",
            URL,
            {**h, "Signature-Agent": 'sig1="https://impostor.example"'},
            NOW,
            "does not verify",
        ),
        "expired": ("GET", URL, h, NOW + DEFAULT_TTL + 6, "expired"),
        "not-yet-created": ("GET", URL, h, NOW - 6, "in the future"),
        "other-key": (
            "GET",
            URL,
            Signer(other)
            .sign("GET", URL, dataclasses.replace(params, keyid=other.keyid), AGENT)
            .headers(),
            NOW,
            "not among the keys given",
        ),
        "no-signature": ("GET", URL, {"Signature-Input": h["Signature-Input"]}, NOW, "Signature"),
    }
    return cases[what]


@pytest.mark.parametrize("what", TAMPERINGS)
def test_every_tampering_fails(published: tuple[BotAuthKey, KeySet], what: str) -> None:
    key, keys = published
    method, url, headers, at, error = _tampered(key, what)
    # The untouched request verifies at the same time: the failure below is the change's.
    _, signed = _sign(key)
    verify_request("GET", URL, signed.headers(), keys, at=NOW)

    with pytest.raises(SignatureInvalid, match=re.escape(error)):
        verify_request(method, url, headers, keys, at=at)


def test_an_other_keys_signature_fails_even_with_the_right_keyid(
    published: tuple[BotAuthKey, KeySet],
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key, keys = published
    impostor = BotAuthKey.of(Ed25519PrivateKey.generate())
    params = fresh_params("GET", URL, key.keyid, signature_agent=AGENT, clock=clock)
    # The impostor claims the crawler's keyid: only the signature check can catch it.
    forged = Signer(dataclasses.replace(impostor, keyid=key.keyid)).sign("GET", URL, params, AGENT)

    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_request("GET", URL, forged.headers(), keys, at=NOW)


def test_the_verifier_holds_the_draft_requirements(published: tuple[BotAuthKey, KeySet]) -> None:
    key, keys = published
    signer = Signer(key)
    base = fresh_params("GET", URL, key.keyid, clock=clock)

    no_authority = dataclasses.replace(base, components=("@method", "@path", "@query"))
    h = signer.sign("GET", URL, no_authority).headers()
    with pytest.raises(SignatureInvalid, match="neither @authority nor @target-uri"):
        verify_request("GET", URL, h, keys, at=NOW)

    other_tag = dataclasses.replace(base, tag="something-else")
    h = signer.sign("GET", URL, other_tag).headers()
    with pytest.raises(SignatureInvalid, match="tag"):
        verify_request("GET", URL, h, keys, at=NOW)

    h = signer.sign("GET", URL, base).headers()
    assert verify_request("GET", URL, h, keys, at=NOW).signature_agent is None
    with pytest.raises(SignatureInvalid, match="no Signature-Agent"):
        verify_request("GET", URL, h, keys, at=NOW, require_signature_agent=True)


def test_the_signer_refuses_inconsistent_inputs(published: tuple[BotAuthKey, KeySet]) -> None:
    key, _ = published
    signer = Signer(key)
    with_agent = fresh_params("GET", URL, key.keyid, signature_agent=AGENT, clock=clock)
    without = fresh_params("GET", URL, key.keyid, clock=clock)

    with pytest.raises(BotAuthError, match="exactly when the signature covers it"):
        signer.sign("GET", URL, with_agent)
    with pytest.raises(BotAuthError, match="exactly when the signature covers it"):
        signer.sign("GET", URL, without, AGENT)
    with pytest.raises(BotAuthError, match="this signer has"):
        signer.sign("GET", URL, dataclasses.replace(without, keyid="someone-else"))
    with pytest.raises(BotAuthError, match="cannot sign"):
        signer.sign("GET", "https://shop.example.com/a b", without)


def test_signing_from_many_threads_gives_valid_signatures(
    published: tuple[BotAuthKey, KeySet],
) -> None:
    key, keys = published
    signer = Signer(key)
    results: list[tuple[str, SignatureParams, SignedHeaders]] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        for i in range(25):
            url = f"https://shop.example.com/t{n}/{i}"
            params = fresh_params("GET", url, key.keyid, signature_agent=AGENT, clock=clock)
            signed = signer.sign("GET", url, params, AGENT)
            with lock:
                results.append((url, params, signed))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(results) == 100
    for url, params, signed in results:
        assert verify_request("GET", url, signed.headers(), keys, at=NOW).params == params


def test_keys_from_a_directory_are_checked() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = BotAuthKey.of(Ed25519PrivateKey.generate())
    jwk = key.jwk()
    rsa = {"kty": "RSA", "n": "AQAB", "e": "AQAB"}

    assert set(keys_from_directory({"keys": [rsa, {**jwk, "kid": key.keyid}]})) == {key.keyid}
    with pytest.raises(BotAuthError, match="is not its thumbprint"):
        keys_from_directory({"keys": [{**jwk, "kid": "chosen-by-the-operator"}]})
    with pytest.raises(BotAuthError, match="private key"):
        keys_from_directory({"keys": [{**jwk, "d": "secret"}]})
    with pytest.raises(BotAuthError, match='"keys" list'):
        keys_from_directory(b'{"key": []}')
    with pytest.raises(BotAuthError, match="not JSON"):
        keys_from_directory(b"<html>")
    with pytest.raises(BotAuthError, match="32"):
        keys_from_directory({"keys": [{**jwk, "x": jwk["x"][:20]}]})
