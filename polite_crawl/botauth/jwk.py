"""Ed25519 public keys as JSON Web Keys, and their thumbprint, which Web Bot Auth uses as `keyid`.

The draft (Section 5.2, `keyid`) asks for the base64url JWK SHA-256 thumbprint of RFC 7638,
computed for Ed25519 keys as RFC 8037 Appendix A.3 shows: the hash of the JSON object holding
only the required members `crv`, `kty` and `x`, in that (lexicographic) order, with no
whitespace, encoded base64url without padding.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from polite_crawl.botauth.errors import BotAuthError

if TYPE_CHECKING:
    from collections.abc import Mapping

KTY, CRV = "OKP", "Ed25519"
RAW_KEY_BYTES = 32


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict: the unpadded base64url alphabet only (a JWK member with padding or `+/` is
    malformed, and accepting it would give one key two spellings)."""
    if not isinstance(text, str) or "=" in text or not text.isascii():
        raise BotAuthError(f"not base64url without padding: {text!r}")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise BotAuthError(f"not base64url without padding: {text!r}") from None
    if b64url(raw) != text:  # non-canonical trailing bits
        raise BotAuthError(f"not canonical base64url: {text!r}")
    return raw


def public_jwk(public_raw: bytes) -> dict[str, str]:
    """The public JWK of a raw 32-byte Ed25519 key: `kty`, `crv`, `x` (no `d`, ever)."""
    if len(public_raw) != RAW_KEY_BYTES:
        raise BotAuthError(f"an Ed25519 public key has 32 bytes, not {len(public_raw)}")
    return {"kty": KTY, "crv": CRV, "x": b64url(public_raw)}


def thumbprint(jwk: Mapping[str, object]) -> str:
    """RFC 7638 SHA-256 thumbprint of an Ed25519 JWK, base64url without padding."""
    public_raw = public_raw_of(jwk)
    required = {"crv": CRV, "kty": KTY, "x": b64url(public_raw)}
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def public_raw_of(jwk: Mapping[str, object]) -> bytes:
    """The raw public key of an Ed25519 JWK, after checking it is one (and is public only)."""
    if jwk.get("kty") != KTY or jwk.get("crv") != CRV:
        raise BotAuthError(
            f"not an Ed25519 JWK (kty {jwk.get('kty')!r}, crv {jwk.get('crv')!r}; "
            f"want kty {KTY!r}, crv {CRV!r})"
        )
    if "d" in jwk:
        # A published private key is a compromised key: refuse it rather than use it.
        raise BotAuthError("the JWK holds a private key (`d`): a key directory must not")
    x = jwk.get("x")
    if not isinstance(x, str):
        raise BotAuthError("the JWK has no `x` string")
    raw = b64url_decode(x)
    if len(raw) != RAW_KEY_BYTES:
        raise BotAuthError(f"the JWK's `x` holds {len(raw)} bytes, not 32")
    return raw


def public_key_of(jwk: Mapping[str, object]) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(public_raw_of(jwk))
