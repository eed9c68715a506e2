"""Web Bot Auth against the published test vectors, byte for byte.

Sources (test data embedded below; no code taken):

- cloudflare/web-bot-auth, packages/web-bot-auth/test/test_data/web_bot_auth_architecture_v2.json:
  the two Ed25519 entries (labels sig1 and sig2). The draft's own Ed25519 request vector
  (draft-ietf-webbotauth-httpsig-protocol, Appendix E.2.1, "Signature-Agent Included Present on
  the Request") is the same as entry sig2 (same key, nonce, base and signature).
- cloudflare/web-bot-auth, packages/web-bot-auth/test/test_data/
  web_bot_auth_directory_response_v1.json: a signed directory response (label binding0).
- thibmeu/http-message-signatures-directory, draft-ietf-webbotauth-httpsig-protocol.md,
  Appendix E.2.3 "Signed Directory Response": another signed directory response (label binding,
  parameters in the order created, expires, keyid, tag, no alg).
- RFC 8037, Appendix A.3: the JWK thumbprint of an Ed25519 key.

The key of all of them is RFC 9421's Ed25519 test key (Appendix B.1.4), a published key: never
one to use.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from polite_crawl.botauth.directory import directory_body, directory_response, verify_directory
from polite_crawl.botauth.errors import SignatureInvalid
from polite_crawl.botauth.jwk import thumbprint
from polite_crawl.botauth.key import BotAuthKey
from polite_crawl.botauth.keyset import keys_from_jwk
from polite_crawl.botauth.params import SignatureParams
from polite_crawl.botauth.sign import Signer
from polite_crawl.botauth.verify import verify_request

D = "n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU"
X = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"
KEYID = "poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U"
TARGET = "https://example.com/path/to/resource"
CREATED_MS, EXPIRES_MS = 1735689600000, 4889289600000

# (label, nonce, components, signature_agent field, signature_input, signature)
REQUEST_VECTORS = [
    (
        "sig1",
        "zIW8+cdmA3vdYagbxojpONwa/l0EKJ/O3/wD486VvsQjO/RxPaSt6ZxvQaMcQzNnqKN/mQ6hpGiFro2L2qkz5A==",
        ("@authority",),
        None,
        'sig1=("@authority");created=1735689600;keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U"'
        ';alg="ed25519";expires=4889289600;nonce="zIW8+cdmA3vdYagbxojpONwa/l0EKJ/O3/wD486VvsQjO/'
        'RxPaSt6ZxvQaMcQzNnqKN/mQ6hpGiFro2L2qkz5A==";tag="web-bot-auth"',
        "sig1=:QKN4fTdIYfh82fvoZCQiQA1weuozfCS/Led2zTMbewMMqH8PI2Wsy/5c4ao6B6D09nraNQdBNOADg8aM1M"
        "qfCg==:",
    ),
    (
        "sig2",
        "n9p433xm+NJ3ph3upfBIGmsuwHw387YV7Q/F+6BSpGCVjYCqQw6rznNA8PVVLySrAWsv0hQtFioQb6E1YsauiA==",
        ("@authority", '"signature-agent";key="agent2"'),
        'agent2="https://signature-agent.test"',
        'sig2=("@authority" "signature-agent";key="agent2");created=1735689600;keyid="poqkLGiymh_'
        'W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";alg="ed25519";expires=4889289600;nonce="n9p433xm+NJ3ph3'
        'upfBIGmsuwHw387YV7Q/F+6BSpGCVjYCqQw6rznNA8PVVLySrAWsv0hQtFioQb6E1YsauiA==";tag="web-bot-'
        'auth"',
        "sig2=:RdNFx5Bj6au3YgAMQL/RzmUlZE8QZLIaXGRpw985hWnwPfMxT228NMk6ehRS1PSl4e8PhbNZACSanGdhEw"
        "YCCg==:",
    ),
]
# Appendix E.2.1 prints this signature base for the sig2 vector (RFC 8792 wrapping undone).
SIG2_BASE = (
    '"@authority": example.com\n'
    '"signature-agent";key="agent2": "https://signature-agent.test"\n'
    '"@signature-params": ("@authority" "signature-agent";key="agent2");created=1735689600'
    ';keyid="poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";alg="ed25519";expires=4889289600'
    ';nonce="n9p433xm+NJ3ph3upfBIGmsuwHw387YV7Q/F+6BSpGCVjYCqQw6rznNA8PVVLySrAWsv0hQtFioQb6E1Ysau'
    'iA==";tag="web-bot-auth"'
)

DIRECTORY_BODY = (
    b'{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U",'
    b'"x":"JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs","use":"sig"}]}'
)
CONTENT_DIGEST = "sha-256=:CADMT2aBdV/rqQr/NIru64ERQkCobVvllA4V0fLFDu0=:"
CLOUDFLARE_DIRECTORY_HEADERS = (
    ("Content-Type", "application/http-message-signatures-directory+json"),
    ("Content-Digest", CONTENT_DIGEST),
    (
        "Signature-Input",
        'binding0=("@authority";req "content-digest");created=1735689600;keyid="poqkLGiymh_W0uP6P'
        'ZFw-dvez3QJT5SolqXBCW38r0U";alg="ed25519";expires=4889289600;tag="http-message-signatur'
        'es-directory"',
    ),
    (
        "Signature",
        "binding0=:yiHq0TXrbpzbmlttAQMpYoAufitFJUWuNsakB7QQMoN0EHbo5o51bZRVR8az/ptTWCwllix9clrKXfGK"
        "wdPzBg==:",
    ),
)
DRAFT_DIRECTORY_HEADERS = (
    ("Content-Digest", CONTENT_DIGEST),
    (
        "Signature-Input",
        'binding=("@authority";req "content-digest");created=1735689600;expires=4889289600;keyid="'
        'poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U";tag="http-message-signatures-directory"',
    ),
    (
        "Signature",
        "binding=:l6P8R67tm3kujAxbHWio7ll01qrEZ0dKD/WWlGhNYEmTnFZM8Wt0VQ9zqGfvo7T/UMkBxsigzChM1Gpz"
        "7gOVBg==:",
    ),
)


def _key() -> BotAuthKey:
    raw = base64.urlsafe_b64decode(D + "=")
    return BotAuthKey.of(Ed25519PrivateKey.from_private_bytes(raw))


def test_the_keyid_is_the_jwk_thumbprint_of_the_vectors() -> None:
    key = _key()

    assert key.keyid == KEYID
    assert key.jwk() == {"kty": "OKP", "crv": "Ed25519", "x": X}
    # Members other than crv, kty and x take no part, whatever their order.
    assert thumbprint({"x": X, "kid": "whatever", "crv": "Ed25519", "kty": "OKP"}) == KEYID


def test_the_thumbprint_of_rfc_8037_appendix_a3() -> None:
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}

    assert thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


@pytest.mark.parametrize(
    ("label", "nonce", "components", "agent_field", "signature_input", "signature"),
    REQUEST_VECTORS,
    ids=[v[0] for v in REQUEST_VECTORS],
)
def test_signing_reproduces_the_request_vectors(
    label: str,
    nonce: str,
    components: tuple[str, ...],
    agent_field: str | None,
    signature_input: str,
    signature: str,
) -> None:
    params = SignatureParams(
        keyid=KEYID,
        created=CREATED_MS // 1000,
        expires=EXPIRES_MS // 1000,
        nonce=nonce,
        components=components,
        label=label,
    )
    agent = "https://signature-agent.test" if agent_field else None

    signed = Signer(_key()).sign("GET", TARGET, params, agent)

    assert signed.signature_input == signature_input
    assert signed.signature == signature
    assert signed.signature_agent == agent_field


def test_the_base_hash_is_of_the_base_the_draft_prints() -> None:
    label, nonce, components, _, _, _ = REQUEST_VECTORS[1]
    params = SignatureParams(KEYID, 1735689600, 4889289600, nonce, components, label=label)

    signed = Signer(_key()).sign("GET", TARGET, params, "https://signature-agent.test")

    assert signed.base_sha256 == hashlib.sha256(SIG2_BASE.encode()).hexdigest()


@pytest.mark.parametrize(
    ("label", "nonce", "components", "agent_field", "signature_input", "signature"),
    REQUEST_VECTORS,
    ids=[v[0] for v in REQUEST_VECTORS],
)
def test_the_request_vectors_verify_and_give_back_their_parameters(
    label: str,
    nonce: str,
    components: tuple[str, ...],
    agent_field: str | None,
    signature_input: str,
    signature: str,
) -> None:
    headers = {"Signature-Input": signature_input, "Signature": signature}
    if agent_field:
        headers["Signature-Agent"] = agent_field
    keys = keys_from_jwk({"kty": "OKP", "crv": "Ed25519", "x": X})

    verified = verify_request("GET", TARGET, headers, keys, at=1735689600)

    assert verified.params == SignatureParams(
        KEYID, 1735689600, 4889289600, nonce, components, label=label
    )
    assert verified.signature_agent == ("https://signature-agent.test" if agent_field else None)


def test_the_directory_body_is_the_drafts_byte_for_byte() -> None:
    body = directory_body([_key()])

    assert body == DIRECTORY_BODY
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert f"sha-256=:{digest}:" == CONTENT_DIGEST


def test_signing_the_directory_reproduces_cloudflares_signed_response() -> None:
    response = directory_response(
        [_key()],
        "https://signature-agent.test",
        created=1735689600,
        validity=4889289600 - 1735689600,
    )

    assert response.body == DIRECTORY_BODY
    assert response.headers == CLOUDFLARE_DIRECTORY_HEADERS


@pytest.mark.parametrize(
    "headers", [CLOUDFLARE_DIRECTORY_HEADERS, DRAFT_DIRECTORY_HEADERS], ids=["cloudflare", "draft"]
)
def test_both_published_directory_signatures_verify(headers: tuple[tuple[str, str], ...]) -> None:
    origin = "https://signature-agent.test"

    proven = verify_directory(DIRECTORY_BODY, headers, origin, at=1735689600)

    assert proven == {KEYID}


@pytest.mark.parametrize(
    "headers", [CLOUDFLARE_DIRECTORY_HEADERS, DRAFT_DIRECTORY_HEADERS], ids=["cloudflare", "draft"]
)
def test_a_published_directory_signature_fails_for_another_authority_or_body(
    headers: tuple[tuple[str, str], ...],
) -> None:
    with pytest.raises(SignatureInvalid):
        verify_directory(DIRECTORY_BODY, headers, "https://copy.example", at=1735689600)
    # The same key set, re-serialized with a space: the digest no longer matches.
    with pytest.raises(SignatureInvalid, match=r"(?i)digest"):
        verify_directory(
            DIRECTORY_BODY.replace(b'"keys":', b'"keys": '),
            headers,
            "https://signature-agent.test",
            at=1735689600,
        )
