"""Signing one request: the three header values Web Bot Auth adds, from parameters chosen before.

http-message-signatures builds the signature base (RFC 9421 Section 2.5) from the request and the
parameters (`HTTPMessageSigner.prepare`); this module signs that base with the Ed25519 key and
serializes the `Signature` dictionary. It calls `prepare` rather than the library's `sign`,
which would also resolve the key through a resolver and rebuild the whole base a second time
in `apply` to check that the message did not change in between: here nothing can change.

What a crawl keeps of a signature is `SignedHeaders.base_sha256` with the parameters, never the
signature bytes: until it expires a signature is a bearer token for that request, and the audit
log is read by the platforms.

Cost (tests/test_botauth_sign.py prints it): about 0.28 ms of CPU per request on this
project's 2-core machine: 0.20 ms in the library's `prepare` (http-sf checks every string it
serializes character by character, some 40 serializations per base), 35 us for Ed25519, 3 us
for `fresh_params`, the rest here. That is above the 2 % of a crawl's CPU aimed at (well under
0.1 ms); see docs/bot-auth.md, "Cost".

Pure (no I/O) and thread-safe: a Signer holds only the key and a library signer without state;
each call builds its own message and base.
"""

from __future__ import annotations

import datetime
import hashlib
import time
from typing import TYPE_CHECKING, NamedTuple

import http_sf
from http_message_signatures import HTTPMessageSigner, algorithms
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from polite_crawl.botauth.agent import signature_agent_field
from polite_crawl.botauth.errors import BotAuthError
from polite_crawl.botauth.message import Headers, Request
from polite_crawl.botauth.params import DEFAULT_TTL, fresh_params

if TYPE_CHECKING:
    from collections.abc import Callable

    from polite_crawl.botauth.key import BotAuthKey
    from polite_crawl.botauth.params import SignatureParams

ALGORITHM = algorithms.ED25519  # alg="ed25519" in every Signature-Input


class SignedHeaders(NamedTuple):
    """The header values to add to one request, and the hash the audit log keeps."""

    signature_agent: str | None  # None: no Signature-Agent header to send
    signature_input: str
    signature: str
    base_sha256: str  # hex sha256 of the signature base: what was signed, not the signature

    def headers(self) -> dict[str, str]:
        """Name to value, for the request's headers (each replaces any value there)."""
        out = {"Signature-Input": self.signature_input, "Signature": self.signature}
        if self.signature_agent is not None:
            out["Signature-Agent"] = self.signature_agent
        return out


def timestamp(seconds: int) -> datetime.datetime:
    """The library takes datetimes and writes `int(dt.timestamp())`: exact for whole seconds."""
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)


class Signer:
    def __init__(self, key: BotAuthKey) -> None:
        self.key = key
        # No key resolver: prepare() needs none, and the key is used directly below.
        self._signer = HTTPMessageSigner(signature_algorithm=ALGORITHM)

    def sign(
        self,
        method: str,
        url: str,
        params: SignatureParams,
        signature_agent: str | None = None,
    ) -> SignedHeaders:
        """Sign `method url` with `params` (chosen before, e.g. by `fresh_params`).

        `signature_agent`: the origin to send in `Signature-Agent` (see agent.py), required
        exactly when `params` cover a `Signature-Agent` member; the member is the one they
        cover. `url` must be encoded, as a request sends it. Raises BotAuthError."""
        if params.keyid != self.key.keyid:
            raise BotAuthError(
                f"the parameters name key {params.keyid!r}; this signer has {self.key.keyid!r}"
            )
        member = params.agent_member
        if (member is None) != (signature_agent is None):
            raise BotAuthError(
                "a Signature-Agent is sent exactly when the signature covers it: "
                f"covered member {member!r}, Signature-Agent {signature_agent!r}"
            )
        headers = Headers()
        agent_field = None
        if member is not None and signature_agent is not None:
            agent_field = signature_agent_field(member, signature_agent)
            headers["Signature-Agent"] = agent_field
        try:
            prepared = self._signer.prepare(
                Request(method, url, headers),
                key_id=params.keyid,
                created=timestamp(params.created),
                expires=timestamp(params.expires),
                nonce=params.nonce,
                label=params.label,
                tag=params.tag,
                covered_component_ids=params.components,
            )
            signature = http_sf.ser(
                {params.label: (self.key.private.sign(prepared.signature_base), {})}
            )
        except (HTTPMessageSignaturesException, ValueError, TypeError) as exc:
            raise BotAuthError(f"cannot sign {method} {url}: {exc}") from None
        return SignedHeaders(
            signature_agent=agent_field,
            # One dictionary member: the label, "=", the inner list prepare() serialized.
            signature_input=f"{prepared.label}={prepared.signature_params}",
            signature=signature,
            base_sha256=hashlib.sha256(prepared.signature_base).hexdigest(),
        )


class SignedRequest(NamedTuple):
    """One request's parameters and the headers made with exactly them: what a crawl keeps in
    memory from the decision to the wire. Only `record()` is ever written down."""

    params: SignatureParams
    headers: SignedHeaders

    def record(self) -> dict[str, object]:
        """The parameters and the signature base's sha256, as the audit log keeps them."""
        return {**self.params.record(), "base_sha256": self.headers.base_sha256}


class RequestSigner:
    """A crawl's signer: its key, `Signature-Agent` origin and signature lifetime. Each call
    chooses new parameters (`fresh_params`) and signs with exactly them."""

    def __init__(
        self,
        key: BotAuthKey,
        agent: str | None,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.signer = Signer(key)
        self.agent = agent
        self.ttl = ttl
        self.clock = clock

    @property
    def keyid(self) -> str:
        return self.signer.key.keyid

    def sign(self, method: str, url: str) -> SignedRequest:
        """New parameters for `method url`, and the headers made with them (BotAuthError)."""
        params = fresh_params(
            method, url, self.keyid, signature_agent=self.agent, clock=self.clock, ttl=self.ttl
        )
        return SignedRequest(params, self.signer.sign(method, url, params, self.agent))
