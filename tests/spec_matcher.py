"""The access-log join (`audit match`), written from FORMAT.md §13 alone.

Step 1's export verification is spec_verifier's (§§1-10); the binding check, step 2 and step 3
are here, with the standard library, `cryptography`, `http_sf` and http-message-signatures'
verifier. Findings are (kind, line) with lines numbered from 1 as in the file (blank ones
included); a finding about the export itself has line None."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import http_sf
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import HTTPMessageVerifier, algorithms
from http_message_signatures.exceptions import HTTPMessageSignaturesException
from http_message_signatures.resolvers import HTTPSignatureKeyResolver
from spec_verifier import Invalid, open_note, parse_public_key, read, sha, verify

if TYPE_CHECKING:
    from pathlib import Path

BINDING_NAME = "polite-crawl/bot-auth"
TAG = "web-bot-auth"
SKEW = dt.timedelta(seconds=5)
RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)")
FIELDS = ("signature-input", "signature", "signature-agent")


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def thumbprint(jwk: Any) -> str:
    """RFC 7638 SHA-256 thumbprint of an Ed25519 OKP JWK, base64url without padding."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ValueError("not an Ed25519 OKP JWK")
    if not isinstance(jwk.get("x"), str):
        raise ValueError("JWK without x")
    members = {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}
    digest = hashlib.sha256(json.dumps(members, sort_keys=True, separators=(",", ":")).encode())
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def raw_key(jwk: dict[str, Any]) -> bytes:
    raw = b64url(jwk["x"])
    Ed25519PublicKey.from_public_bytes(raw)  # ValueError if not 32 bytes
    return raw


def directory_keys(directory: dict[str, Any] | None) -> dict[str, bytes]:
    """The key directory's Ed25519 keys, by their RFC 7638 thumbprint."""
    if directory is None:
        return {}
    if not isinstance(directory, dict) or not isinstance(directory.get("keys"), list):
        raise ValueError("the key directory is not a JWK Set")
    keys: dict[str, bytes] = {}
    for jwk in directory["keys"]:
        try:
            keyid, raw = thumbprint(jwk), raw_key(jwk)
        except (ValueError, TypeError):
            continue  # not an Ed25519 key: not one a Web Bot Auth signature can use
        if "kid" in jwk and jwk["kid"] != keyid:
            raise ValueError(f"a directory JWK's kid {jwk['kid']!r} is not its thumbprint")
        keys[keyid] = raw
    if not keys:
        raise ValueError("the key directory holds no Ed25519 key")
    return keys


def posix(text: str) -> float:
    m = RFC3339.fullmatch(text)
    if not m:
        raise ValueError(f"{text[:40]!r} is not an RFC 3339 date-time")
    text = re.sub(r"([Tt ]\d\d:\d\d):60", r"\1:59", text)  # a leap second counts as :59
    return dt.datetime.fromisoformat(text.upper().replace("Z", "+00:00")).timestamp()


@dataclass
class Message:
    """What the library's component resolver reads from a request."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


class Keys(HTTPSignatureKeyResolver):
    def __init__(self, keys: dict[str, bytes]) -> None:
        self.keys = keys

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.keys[key_id])


class AtTime(HTTPMessageVerifier):
    """created and expires (both required) judged at the line's time, 5 s of skew."""

    at: dt.datetime

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        created, expires = sig_input.params.get("created"), sig_input.params.get("expires")
        if type(created) is not int or type(expires) is not int:
            raise HTTPMessageSignaturesException("created and expires are both required")
        if dt.datetime.fromtimestamp(created, dt.timezone.utc) > self.at + SKEW:
            raise HTTPMessageSignaturesException("created after the request's time")
        if dt.datetime.fromtimestamp(expires, dt.timezone.utc) < self.at - SKEW:
            raise HTTPMessageSignaturesException("expired at the request's time")


@dataclass
class Line:
    number: int
    time: float
    method: str
    url: str
    fields: dict[str, str]


def read_access_log(path: Path) -> list[Line]:
    """Step 3's format; any other line is bad input (ValueError)."""
    lines: list[Line] = []
    for number, text in enumerate(path.read_bytes().decode("utf-8").split("\n"), 1):
        if not text.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            obj = json.loads(text)
        except ValueError:
            raise ValueError(f"{where}: not JSON") from None
        if not isinstance(obj, dict):
            raise ValueError(f"{where}: not a JSON object")
        for name in ("time", "method", "url"):
            if not isinstance(obj.get(name), str):
                raise ValueError(f"{where}: {name!r} must be a string")
        try:
            time = posix(obj["time"])
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
        if not re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", obj["method"]):  # an RFC 9110 token
            raise ValueError(f"{where}: {obj['method'][:20]!r} is not a method")
        url = urlsplit(obj["url"])
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"{where}: {obj['url'][:60]!r} is not an absolute http(s) URL")
        fields: dict[str, str] = {}
        for name in FIELDS:
            value = obj.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{where}: {name!r} must be a string")
            if value is not None:
                fields[name] = value
        lines.append(Line(number, time, obj["method"], obj["url"], fields))
    return lines


def named_keyids(signature_input: str | None) -> set[str] | None:
    """The keyids Signature-Input names under any label (None: it cannot be parsed)."""
    if signature_input is None:
        return set()
    try:
        parsed: Any = http_sf.parse(signature_input.encode(), tltype="dictionary")
    except (http_sf.StructuredFieldError, ValueError, UnicodeError):
        return None
    return {
        params["keyid"]
        for _, (_, params) in parsed.items()
        if isinstance(params, dict) and isinstance(params.get("keyid"), str)
    }


def component_name(key: str) -> str:
    """A covered component as §13 step 6 writes it: bare when it has no parameters."""
    item: Any = http_sf.parse(key.encode(), tltype="item")
    value, params = item
    return str(value) if not params else key


def check_line(line: Line, keys: dict[str, bytes]) -> dict[str, Any] | None:
    """Step 3.3: the verified web-bot-auth signature's values, or None (bad_signature)."""
    verifier = AtTime(signature_algorithm=algorithms.ED25519, key_resolver=Keys(keys))
    verifier.at = dt.datetime.fromtimestamp(line.time, dt.timezone.utc)
    message = Message(line.method, line.url, dict(line.fields))
    try:
        results = verifier.verify(message, max_age=None, expect_tag=TAG)
    except (HTTPMessageSignaturesException, ValueError, KeyError, TypeError):
        return None
    if len(results) != 1:
        return None  # "the one with tag=web-bot-auth": more than one is not that
    (result,) = results
    covered = [k for k in result.covered_components if k != '"@signature-params"']
    names = [component_name(k) for k in covered]
    if "@authority" not in names and "@target-uri" not in names:
        return None
    nonce = result.parameters.get("nonce")
    if not isinstance(nonce, str):
        return None
    base = "\n".join(f"{k}: {v}" for k, v in result.covered_components.items())
    return {
        "nonce": nonce,
        "label": result.label,
        "created": result.parameters["created"],
        "expires": result.parameters["expires"],
        "keyid": result.parameters["keyid"],
        "components": names,
        "base_sha256": hashlib.sha256(base.encode()).hexdigest(),
    }


def lets_go(record: dict[str, Any]) -> bool:
    if record.get("type") == "request.signed":
        return True
    return record.get("decision") == "allow" or record.get("enforced") is False


def read_records(export_dir: Path) -> list[dict[str, Any]]:
    out = []
    for line in read(export_dir / "entries.jsonl", "entries").split(b"\n")[:-1]:
        out.append(json.loads(line[:-75] + b"}"))
    return out


def binding_vouches(records: list[dict[str, Any]], dkeys: dict[str, bytes], fp: str) -> bool:
    """Step 1, unpinned: some run.start's bot_auth_binding opens with the directory key whose
    thumbprint is its bot_auth_keyid, and names this log key."""
    for rec in records:
        keyid, note = rec.get("bot_auth_keyid"), rec.get("bot_auth_binding")
        if rec.get("type") != "run.start" or not isinstance(note, str) or keyid not in dkeys:
            continue
        try:
            body = open_note(note, BINDING_NAME, dkeys[keyid], "binding")[0]
        except (Invalid, ValueError):
            continue
        if body == f"{BINDING_NAME}\n{keyid}\nsha256:{fp}\n":
            return True
    return False


def match(
    export_dir: Path,
    access_log: Path,
    directory: dict[str, Any] | None,
    pinned_fingerprint: str | None,
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "matched": 0, "unsigned": 0, "other_signers": 0, "not_arrived": 0, "replaced": 0,
        "recorded": 0, "requests": 0, "findings": [],
    }  # fmt: skip
    findings: list[tuple[str, int | None]] = report["findings"]
    dkeys = directory_keys(directory)
    if pinned_fingerprint is None and directory is None:
        raise ValueError("neither a pinned log key nor a key directory")
    if pinned_fingerprint is not None and not re.fullmatch(
        r"sha256:[0-9a-f]{64}", pinned_fingerprint.lower()
    ):
        raise ValueError(f"{pinned_fingerprint!r} is not sha256:HEX")
    lines = read_access_log(access_log)  # bad input stops the join before anything is judged
    report["requests"] = len(lines)

    # Step 1: the export.
    try:
        log_key = parse_public_key(read(export_dir / "public.key", "public.key"))
        verify(export_dir, log_key)
        records = read_records(export_dir)
    except Invalid:
        findings.append(("export", None))
        return report
    fp = sha(log_key)
    if pinned_fingerprint is not None:
        if pinned_fingerprint.lower() != f"sha256:{fp}":
            findings.append(("export", None))
            return report
    elif not binding_vouches(records, dkeys, fp):
        findings.append(("export", None))
        return report

    # Step 2: the recorded nonces.
    by_nonce: dict[str, dict[str, Any]] = {}
    replaced: set[str] = set()
    run_keys: dict[str, bytes] = {}
    for rec in records:
        sig = rec.get("signature")
        if sig is not None and not (isinstance(sig, dict) and isinstance(sig.get("nonce"), str)):
            findings.append(("export", None))  # a signature without a nonce
        elif isinstance(sig, dict) and isinstance(sig.get("nonce"), str):
            if sig["nonce"] in by_nonce:
                findings.append(("export", None))
            else:
                by_nonce[sig["nonce"]] = rec
        if rec.get("type") == "request.signed" and isinstance(rec.get("replaces"), str):
            replaced.add(rec["replaces"])
        if rec.get("type") == "run.start" and rec.get("bot_auth_key") is not None:
            try:
                ok = thumbprint(rec["bot_auth_key"]) == rec.get("bot_auth_keyid")
                raw = raw_key(rec["bot_auth_key"])
            except (ValueError, TypeError, KeyError):
                ok = False
            if ok:
                run_keys[rec["bot_auth_keyid"]] = raw
            else:
                findings.append(("export", None))
    operator = {**run_keys, **dkeys}
    verifying = dkeys if directory is not None else run_keys
    report["recorded"] = len(by_nonce)

    # Step 3: the access log.
    seen: set[str] = set()
    for line in lines:
        if "signature-input" not in line.fields and "signature" not in line.fields:
            report["unsigned"] += 1
            continue
        named = named_keyids(line.fields.get("signature-input"))
        if named and not named & set(operator):
            report["other_signers"] += 1
            continue
        got = check_line(line, verifying)
        if got is None:
            findings.append(("bad_signature", line.number))
            continue
        nonce = got["nonce"]
        if nonce in seen:
            findings.append(("replayed", line.number))
            continue
        seen.add(nonce)
        found = by_nonce.get(nonce)
        if found is None:
            findings.append(("not_in_export", line.number))
            continue
        rec, said = found, found["signature"]
        if any(said.get(k) != got[k] for k in ("label", "created", "expires", "keyid")) or (
            said.get("components") != got["components"]
            or said.get("base_sha256") != got["base_sha256"]
        ):
            findings.append(("differs", line.number))
            continue
        if not lets_go(rec) or nonce in replaced:
            findings.append(("not_sent", line.number))
            continue
        report["matched"] += 1
    missing = set(by_nonce) - seen
    report["not_arrived"] = len(missing)
    report["replaced"] = len(missing & replaced)
    return report
