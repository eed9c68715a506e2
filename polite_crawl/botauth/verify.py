"""The platform's side: does a received request carry a valid Web Bot Auth signature?

`verify_request` takes what a server saw (method, URL, the header field lines) and the signer's
keys, lets http-message-signatures' verifier check the signature (RFC 9421 Section 3.2), then
holds it to what the protocol draft requires of a Web Bot Auth signature: `tag="web-bot-auth"`,
`created` and `expires` both present, `@authority` or `@target-uri` covered, and, when a
`Signature-Agent` member is covered, returns that member's URL. It answers with the parameters
as they were signed, so that a nonce can be joined to the crawl's allow record and the base's
hash compared with the one the record holds.

Time: a signature is judged at `at`, the moment the request was received (an access log's
timestamp), not when the check runs: `polite-crawl audit match` reads logs long after every
signature in them expired. RFC 9421's rules apply at that moment: `created` not in the future and
`expires` not in the past, with the library's 5 s of clock skew either way.

What this does not do: fetch a key directory (the caller passes the keys) or detect replays (a
nonce seen twice is the caller's finding).
"""

from __future__ import annotations

import datetime
import hashlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import http_sf
from http_message_signatures import HTTPMessageVerifier, MappingKeyResolver, algorithms
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from polite_crawl.botauth.errors import SignatureInvalid
from polite_crawl.botauth.message import HeaderLines, Headers, Request
from polite_crawl.botauth.params import TAG, SignatureParams

if TYPE_CHECKING:
    from collections.abc import Sequence

    from polite_crawl.botauth.keyset import KeySet

SIGNATURE_PARAMS = '"@signature-params"'


class TimedVerifier(HTTPMessageVerifier):
    """The library's verifier, judging `created`/`expires` at a given time instead of now,
    and requiring `expires` (the draft makes it mandatory; RFC 9421 does not)."""

    def __init__(self, keys: KeySet, at: float) -> None:
        super().__init__(
            signature_algorithm=algorithms.ED25519,
            key_resolver=MappingKeyResolver(public_keys=dict(keys), private_keys={}),
        )
        self.at = at

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        skew = self.max_clock_skew.total_seconds()
        params = sig_input.params
        for name in ("created", "expires"):
            if type(params.get(name)) is not int:
                raise SignatureInvalid(f'the signature has no integer "{name}" parameter')
        if params["created"] > self.at + skew:
            raise SignatureInvalid(
                f"created {params['created']} is in the future at {_utc(self.at)}"
            )
        if params["expires"] < self.at - skew:
            raise SignatureInvalid(f"expired at {_utc(params['expires'])}, before {_utc(self.at)}")
        if params["expires"] < params["created"]:
            raise SignatureInvalid("expires comes before created")


@dataclass(frozen=True)
class VerifiedSignature:
    params: SignatureParams
    signature_agent: str | None  # the covered Signature-Agent member's URL, if one is covered
    base_sha256: str  # hex sha256 of the verified signature base


def verify_request(
    method: str,
    url: str,
    headers: HeaderLines,
    keys: KeySet,
    *,
    at: float | None = None,
    label: str | None = None,
    require_signature_agent: bool = False,
) -> VerifiedSignature:
    """Verify the Web Bot Auth signature of a request, or raise SignatureInvalid saying why.

    `headers`: the request's field lines (name, value) or a mapping; only `Signature-Input`,
    `Signature`, `Signature-Agent` and the fields the signature covers are read. `keys`: by keyid,
    from `keyset.keys_from_jwk` or `keys_from_directory`. `at`: when the request was received
    (default: now). `label`: which signature, when there are several Web Bot Auth ones."""
    message = Request(method, url, Headers(headers))
    verifier = TimedVerifier(keys, time.time() if at is None else at)
    try:
        results = verifier.verify(message, max_age=None, expect_tag=TAG, expect_label=label)
    except SignatureInvalid:
        raise
    except HTTPMessageSignaturesException as exc:
        raise SignatureInvalid(_explain(exc, message.headers, keys)) from None
    if len(results) != 1:
        raise SignatureInvalid(
            f"{len(results)} Web Bot Auth signatures ({', '.join(r.label for r in results)}): "
            "name the one to check"
        )
    result = results[0]
    components = _components(result.covered_components)
    if not {"@authority", "@target-uri"} & set(components):
        raise SignatureInvalid("the signature covers neither @authority nor @target-uri")
    p = result.parameters
    params = SignatureParams(
        keyid=str(p["keyid"]),
        created=int(p["created"]),
        expires=int(p["expires"]),
        nonce=None if result.nonce is None else str(result.nonce),
        components=components,
        label=result.label,
        tag=str(p["tag"]),
    )
    agent = _agent_url(message.headers, params.agent_member)
    if require_signature_agent and agent is None:
        raise SignatureInvalid("the signature covers no Signature-Agent member")
    return VerifiedSignature(params, agent, base_sha256(result.covered_components))


def base_sha256(covered: dict[str, str]) -> str:
    """The hash of the base the library verified: its lines are the covered components in
    order, `"@signature-params"` last (RFC 9421 Section 2.5), as the library returns them."""
    base = "\n".join(f"{name}: {value}" for name, value in covered.items())
    return hashlib.sha256(base.encode("ascii")).hexdigest()


def _components(covered: dict[str, str]) -> tuple[str, ...]:
    """Component identifiers in SignatureParams' spelling: a bare name when it has no
    parameters (`"@path"` -> `@path`), the serialized item otherwise."""
    out = []
    for serialized in covered:
        if serialized == SIGNATURE_PARAMS:
            continue
        item: Any = http_sf.parse(serialized.encode(), tltype="item")
        name, params = item
        out.append(name if not params else serialized)
    return tuple(out)


def _agent_url(headers: Headers, member: str | None) -> str | None:
    if member is None:
        return None
    field = headers.get("Signature-Agent")
    if field is None:  # the library resolved the member, so this cannot happen
        raise SignatureInvalid("no Signature-Agent field")
    try:
        value, _ = _dictionary(field)[member]
    except (ValueError, TypeError, KeyError):  # the library parsed it already: cannot happen
        raise SignatureInvalid(f"Signature-Agent has no member {member!r}") from None
    if not isinstance(value, str):
        raise SignatureInvalid(f"Signature-Agent member {member!r} is not a string")
    return value


def _explain(exc: Exception, headers: Headers, keys: KeySet) -> str:
    """The library's message, with the keyid named when the key set lacks it."""
    unknown = [k for k in keyids_of(headers) if k not in keys]
    if unknown:
        known = ", ".join(sorted(keys)) or "none"
        return f"keyid {', '.join(unknown)} is not among the keys given ({known})"
    text = str(exc)
    if not text or text == "InvalidSignature":  # the library wraps cryptography's bare error
        return (
            "the signature does not verify: the request differs from the one signed (a covered "
            "component changed) or another key made it"
        )
    return text


def keyids_of(headers: Headers | HeaderLines) -> Sequence[str]:
    """The keyids the Signature-Input field names (any label, any tag); none when unreadable."""
    if not isinstance(headers, Headers):
        headers = Headers(headers)
    field = headers.get("Signature-Input")
    if field is None:
        return []
    try:
        parsed = _dictionary(field)
    except (ValueError, TypeError):
        return []
    out = []
    for member in parsed.values():
        params = member[1] if isinstance(member, tuple) else {}
        if isinstance(params, dict) and isinstance(params.get("keyid"), str):
            out.append(params["keyid"])
    return out


def _dictionary(field: str) -> dict[str, Any]:
    parsed: Any = http_sf.parse(field.encode(), tltype="dictionary")
    if not isinstance(parsed, dict):
        raise ValueError("not a dictionary")
    return parsed


def _utc(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc).isoformat()
