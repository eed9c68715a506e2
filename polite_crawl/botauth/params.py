"""Signature parameters, chosen before a request is signed.

A crawl chooses them when the gate allows a request (the audit log records them then, at
decision time), and the wire signs with exactly these values just before the request is sent,
so what the log says was signed is what was signed. They hold no secret: the nonce and the
times are sent in clear in `Signature-Input`.

Choices (draft-ietf-webbotauth-httpsig-protocol, Section 5.2):

- covered components: `@authority` (the draft's minimum), narrowed as it advises to one request
  with `@method`, `@path` and, when the URL has a query, `@query`; and, when a
  `Signature-Agent` is sent, its member keyed to the signature's label,
  `"signature-agent";key="sig1"`, which the draft requires a signer to cover. No body digest:
  crawls GET; a body would need `Content-Digest` covered too.
- `created` is the decision time and `expires` `created + ttl`. Default ttl: 60 seconds. A
  signature is a bearer token until it expires (Sections 5.2, 6.9): anyone who sees the request
  can replay it to the same origin for that long. It only has to outlive the gap between the
  decision and the send plus clock skew (verifiers allow a few seconds; the library used here
  allows 5 s), so it is kept short. A request can wait longer than that in a paced host's queue
  (Crawl-delay): whoever signs must check `fresh_at(now)` first and choose, and record, new
  parameters for a request whose parameters have gone stale, rather than send an expired
  signature.
- `nonce`: 64 random bytes, base64 (as in the draft's test vectors). The draft sets no nonce
  rules (replay protection is the origin's, RFC 9421 Section 7.2.2); for polite_crawl the nonce
  is what joins a request in a platform's access log to its allow record.
- `tag` is `web-bot-auth` (required); `keyid` the key's JWK thumbprint (required).
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from polite_crawl.botauth.errors import BotAuthError

if TYPE_CHECKING:
    from collections.abc import Callable

TAG = "web-bot-auth"
DEFAULT_LABEL = "sig1"
DEFAULT_TTL = 60.0
NONCE_BYTES = 64
_AGENT_PREFIX = '"signature-agent";key="'


@dataclass(frozen=True, slots=True)
class SignatureParams:
    """What one signature says about itself (RFC 9421 `@signature-params`), besides `alg`.

    `components` are the covered component identifiers in order, a name alone when the
    component has no parameters (`@authority`) and the serialized item when it has
    (`"signature-agent";key="sig1"`), as http-message-signatures accepts them. Immutable and
    hashable: safe to hand from the decision to the wire, in any thread."""

    keyid: str
    created: int
    expires: int
    nonce: str | None
    components: tuple[str, ...]
    label: str = DEFAULT_LABEL
    tag: str = TAG

    @property
    def agent_member(self) -> str | None:
        """The `Signature-Agent` member this signature covers (its key), if any."""
        for component in self.components:
            if component.startswith(_AGENT_PREFIX) and component.endswith('"'):
                return component[len(_AGENT_PREFIX) : -1]
        return None

    def fresh_at(self, now: float, *, margin: float = 5.0) -> bool:
        """Whether a signature with these parameters, sent at `now`, still has `margin`
        seconds before it expires (it reaches the verifier a little later)."""
        return now + margin < self.expires

    def record(self) -> dict[str, object]:
        """The parameters as an allow record keeps them, plain JSON values; the caller adds
        `base_sha256` (SignedHeaders.base_sha256). The tag is always `web-bot-auth`."""
        return {
            "label": self.label,
            "nonce": self.nonce,
            "created": self.created,
            "expires": self.expires,
            "keyid": self.keyid,
            "components": list(self.components),
        }


def random_nonce() -> str:
    return base64.b64encode(secrets.token_bytes(NONCE_BYTES)).decode("ascii")


def covered_components(url: str, agent_member: str | None) -> tuple[str, ...]:
    components = ["@authority", "@method", "@path"]
    # An empty query ("?" at the end) is still a query: @query covers "?" then, not nothing.
    if "?" in url.partition("#")[0]:
        components.append("@query")
    if agent_member is not None:
        components.append(f'{_AGENT_PREFIX}{agent_member}"')
    return tuple(components)


def fresh_params(
    method: str,
    url: str,
    keyid: str,
    *,
    signature_agent: str | None = None,
    clock: Callable[[], float] = time.time,
    ttl: float = DEFAULT_TTL,
    label: str = DEFAULT_LABEL,
) -> SignatureParams:
    """New parameters for signing `method url` with the key `keyid`, now by `clock`.

    `signature_agent` is the origin that will be sent in `Signature-Agent` (or None when none
    is): with one, its member, keyed by `label`, is covered. Pure apart from the clock and the
    random nonce: no I/O."""
    if not method or method != method.upper():
        raise BotAuthError(f"the method must be upper case: {method!r}")
    if not 0 < ttl <= 24 * 3600:
        # The draft recommends at most 24 hours (Section 5.2).
        raise BotAuthError(f"the signature lifetime must be within (0, 86400] s, not {ttl}")
    created = int(clock())
    return SignatureParams(
        keyid=keyid,
        created=created,
        expires=created + max(1, round(ttl)),
        nonce=random_nonce(),
        components=covered_components(url, label if signature_agent is not None else None),
        label=label,
    )
