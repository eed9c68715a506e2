"""Verification keys by keyid, from one JWK or from a key directory (a JWK Set).

Keys are indexed by their computed thumbprint, never by a `kid` a document claims: the draft
(Section 5.5) requires a directory served at the well-known URI to set `kid` to the thumbprint
when it sets one at all, and a `kid` that differs is refused here rather than trusted. Entries of
other key types (RSA, EC) are skipped: polite_crawl signs with Ed25519 only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from polite_crawl.botauth.errors import BotAuthError
from polite_crawl.botauth.jwk import CRV, KTY, public_key_of, thumbprint

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

KeySet = Mapping[str, "Ed25519PublicKey"]
# A directory is fetched on the word of an unknown request (the draft's Section 6.7 asks
# verifiers to bound the key count); no honest signer needs more for rotation.
MAX_KEYS = 64


def keys_from_jwk(jwk: Mapping[str, object]) -> dict[str, Ed25519PublicKey]:
    """{thumbprint: key} for one Ed25519 JWK; a `kid`, if any, must be the thumbprint."""
    keyid = thumbprint(jwk)
    kid = jwk.get("kid")
    if kid is not None and kid != keyid:
        raise BotAuthError(f"JWK kid {kid!r} is not its thumbprint {keyid!r}")
    return {keyid: public_key_of(jwk)}


def keys_from_directory(
    document: bytes | str | Mapping[str, object],
) -> dict[str, Ed25519PublicKey]:
    """{thumbprint: key} for every Ed25519 key of a key directory ({"keys": [JWK, ...]})."""
    if isinstance(document, Mapping):
        data: object = document
    else:
        try:
            data = json.loads(document)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BotAuthError(f"the key directory is not JSON ({exc})") from None
    keys = data.get("keys") if isinstance(data, Mapping) else None
    if not isinstance(keys, list):
        raise BotAuthError('the key directory has no "keys" list')
    if len(keys) > MAX_KEYS:
        raise BotAuthError(f"the key directory holds {len(keys)} keys (at most {MAX_KEYS})")
    found: dict[str, Ed25519PublicKey] = {}
    for n, jwk in enumerate(keys):
        if not isinstance(jwk, Mapping):
            raise BotAuthError(f"key directory entry {n} is not a JSON object")
        if jwk.get("kty") != KTY or jwk.get("crv") != CRV:
            continue
        try:
            found.update(keys_from_jwk(jwk))
        except BotAuthError as exc:
            raise BotAuthError(f"key directory entry {n}: {exc}") from None
    return found
