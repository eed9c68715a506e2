"""The key directory: the JSON Web Key Set an operator serves at
`https://<Signature-Agent origin>/.well-known/http-message-signatures-directory`.

What the drafts say, and what is done here (draft-ietf-webbotauth-httpsig-protocol, Section
5.5.1 and Appendix B, which took in draft-meunier-webbotauth-httpsig-directory):

- Body: a JWKS, {"keys": [JWK, ...]}, served over https with media type
  `application/http-message-signatures-directory+json`. Each JWK is written as `kty`, `crv`,
  `kid`, `x`, `use` ("sig"), in that order, compact: `kid` MAY be there and then MUST be the
  thumbprint. That is byte for byte the body of the draft's "Signed Directory Response" test
  vector, whose Content-Digest the tests recompute.
- Response signature: RECOMMENDED, not required (changed from earlier revisions: "Make
  directory response signatures optional for directly resolved keys"). A verifier needs it to
  attribute requests to the domain from key material it did not fetch itself (Section 5.5.3).
  It is one RFC 9421 response signature per key, by that key, covering `"@authority";req`
  (the `req` flag MUST be set) and `content-digest` (RFC 9530, of the exact body bytes), with
  `created`, `expires`, `keyid` and `tag="http-message-signatures-directory"`.
  Done here whenever the origin that will serve it is known (`@authority` is that origin's);
  without it the body is written unsigned and the command says so. Decided where the drafts
  leave it open: labels `binding0`, `binding1`, ... (Cloudflare's published vector uses
  `binding0`; labels are not signed); `alg="ed25519"` is included (the library always writes
  it for a signature it prepares, and it is a registered parameter); parameter order is the
  library's (created, keyid, alg, expires, tag), which differs from the draft's own example but
  not in meaning: a verifier rebuilds the base from the order it receives.
- Lifetime of that signature: Appendix C.8 says a short `expires` buys nothing and costs
  availability, and that the lever for revocation is republishing, not short signatures.
  Default: 30 days from `created` (`DEFAULT_VALIDITY`): rewrite the directory (the command)
  at least monthly, and whenever a key is added or removed.
- Headers the operator adds when serving it: `Content-Type`, and with the signature
  `Content-Digest`, `Signature-Input`, `Signature`, exactly as returned here; the body must be
  served byte for byte (no re-encoding, no trailing newline added).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, NamedTuple

import http_sf
from http_message_signatures import ContentDigest, HTTPMessageSigner
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from polite_crawl.botauth.agent import MEDIA_TYPE, directory_url
from polite_crawl.botauth.errors import BotAuthError, SignatureInvalid
from polite_crawl.botauth.jwk import public_jwk
from polite_crawl.botauth.keyset import keys_from_directory
from polite_crawl.botauth.message import HeaderLines, Headers, Request, Response
from polite_crawl.botauth.sign import ALGORITHM, timestamp
from polite_crawl.botauth.verify import TimedVerifier

if TYPE_CHECKING:
    from collections.abc import Sequence

    from polite_crawl.botauth.key import BotAuthKey

DIRECTORY_TAG = "http-message-signatures-directory"
DEFAULT_VALIDITY = 30 * 24 * 3600
LABEL_PREFIX = "binding"
COMPONENTS = ('"@authority";req', "content-digest")


class DirectoryResponse(NamedTuple):
    body: bytes
    headers: tuple[tuple[str, str], ...]  # to serve with it, in order

    @property
    def signed(self) -> bool:
        return any(name == "Signature" for name, _ in self.headers)


def directory_entry(key: BotAuthKey) -> dict[str, str]:
    jwk = public_jwk(key.public_raw)
    return {"kty": jwk["kty"], "crv": jwk["crv"], "kid": key.keyid, "x": jwk["x"], "use": "sig"}


def directory_body(keys: Sequence[BotAuthKey]) -> bytes:
    if not keys:
        raise BotAuthError("a key directory needs at least one key")
    document = {"keys": [directory_entry(k) for k in keys]}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def directory_response(
    keys: Sequence[BotAuthKey],
    origin: str | None,
    *,
    created: int | None = None,
    validity: int = DEFAULT_VALIDITY,
) -> DirectoryResponse:
    """The directory body, and the headers to serve it with: signed by every key when
    `origin` (the Signature-Agent origin that serves it) is given, unsigned otherwise."""
    body = directory_body(keys)
    headers = Headers([("Content-Type", MEDIA_TYPE)])
    if origin is None:
        return DirectoryResponse(body, tuple(headers.items()))
    if validity <= 0:
        raise BotAuthError(f"the directory signature's validity must be positive, not {validity}")
    created = int(time.time()) if created is None else created
    response = Response(200, headers, Request("GET", directory_url(origin)))
    ContentDigest.add(response.headers, body)  # sha-256 of the exact body bytes
    signer = HTTPMessageSigner(signature_algorithm=ALGORITHM)
    inputs: list[str] = []
    signatures: dict[str, Any] = {}
    try:
        for n, key in enumerate(keys):
            prepared = signer.prepare(
                response,
                key_id=key.keyid,
                created=timestamp(created),
                expires=timestamp(created + validity),
                label=f"{LABEL_PREFIX}{n}",
                tag=DIRECTORY_TAG,
                covered_component_ids=COMPONENTS,
                body=body,
                use_existing_digest=True,
            )
            inputs.append(f"{prepared.label}={prepared.signature_params}")
            signatures[prepared.label] = (key.private.sign(prepared.signature_base), {})
        signature = http_sf.ser(signatures)
    except (HTTPMessageSignaturesException, ValueError, TypeError) as exc:
        raise BotAuthError(f"cannot sign the key directory: {exc}") from None
    headers["Signature-Input"] = ", ".join(inputs)
    headers["Signature"] = signature
    return DirectoryResponse(body, tuple(headers.items()))


def verify_directory(
    body: bytes, headers: HeaderLines, origin: str, *, at: float | None = None
) -> set[str]:
    """Check a directory response's possession proofs, as Appendix B asks a verifier to: every
    signature tagged `http-message-signatures-directory` must verify with a key of the
    directory itself, cover `"@authority";req` for `origin` and a `content-digest` that matches
    `body`, and not be dated in the future or expired at `at` (default now). Returns the keyids
    proven; raises SignatureInvalid otherwise (or BotAuthError for a malformed directory)."""
    keys = keys_from_directory(body)
    response = Response(200, Headers(headers), Request("GET", directory_url(origin)))
    verifier = TimedVerifier(keys, time.time() if at is None else at)
    try:
        results = verifier.verify(
            response,
            max_age=None,
            expect_tag=DIRECTORY_TAG,
            require_components=COMPONENTS,
            body=body,
        )
    except SignatureInvalid:
        raise
    except HTTPMessageSignaturesException as exc:
        raise SignatureInvalid(f"the key directory's signature: {exc}") from None
    return {str(r.parameters["keyid"]) for r in results}
