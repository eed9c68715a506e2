"""The join of a platform's access log with an export (docs/format.md §13): every signed request
the platform received must have the record written before it was sent, holding its nonce.

Findings, each naming the access-log line:
- `not_in_export`: a request signed with the operator's key whose nonce no record holds: the
  export is incomplete (the crawl sent it unlogged, or records were withheld).
- `bad_signature`: a request naming one of the operator's keys whose signature does not verify
  (a tampered line, a forged request, a key the directory does not hold), or that has no nonce.
- `replayed`: a nonce received a second time.
- `differs`: the signature's parameters or signed base are not the ones its record holds.
- `not_sent`: the nonce's record says the request was not to be sent (a refusal, or parameters
  a `request.signed` record `replaces`), yet it arrived.
- `export`: the export's own signature fields are unusable (a duplicated nonce, a malformed
  `signature`, a run.start whose key is not its keyid).
Counted, not findings: unsigned requests (not the operator's: every request it sends is
signed), requests signed with other keys (another signer's), and records whose nonce never
arrived (a request that failed, or went to another site; `replaced` counts those whose
parameters were replaced before sending, so never sent by design).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from polite_crawl.botauth.errors import BotAuthError, SignatureInvalid
from polite_crawl.botauth.keyset import keys_from_jwk
from polite_crawl.botauth.verify import keyids_of, verify_request

if TYPE_CHECKING:
    from collections.abc import Iterable

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from polite_crawl.botauth.accesslog import Received
    from polite_crawl.botauth.keyset import KeySet

COMPARED = ("label", "created", "expires", "keyid", "components", "base_sha256")


@dataclass(frozen=True)
class Finding:
    kind: str
    line: int | None  # the access log's line; None for the export's own
    message: str


@dataclass(frozen=True)
class Recorded:
    """A record holding a signature's parameters: what the crawl chose before sending."""

    seq: Any
    type: str
    url: Any
    sendable: bool  # the record lets the request go
    signature: dict[str, Any]


@dataclass
class SignedRecords:
    """What an export says about the requests it signed."""

    by_nonce: dict[str, Recorded] = field(default_factory=dict)
    replaced: set[str] = field(default_factory=set)  # nonces replaced before sending
    keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)  # run.start's keys
    bindings: list[tuple[str, str]] = field(default_factory=list)  # (keyid, binding note)
    problems: list[Finding] = field(default_factory=list)


@dataclass
class MatchReport:
    requests: int = 0
    unsigned: int = 0
    other_signers: int = 0
    matched: int = 0
    findings: list[Finding] = field(default_factory=list)
    recorded: int = 0
    not_arrived: int = 0
    replaced: int = 0  # of not_arrived: parameters replaced before sending

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "requests": self.requests,
            "unsigned": self.unsigned,
            "other_signers": self.other_signers,
            "matched": self.matched,
            "recorded": self.recorded,
            "not_arrived": self.not_arrived,
            "replaced": self.replaced,
            "findings": [
                {"kind": f.kind, "line": f.line, "message": f.message} for f in self.findings
            ],
        }


def _sendable(record: dict[str, Any]) -> bool:
    if record.get("type") != "decision":
        return True  # request.signed: written only for a request about to be sent
    return record.get("decision") == "allow" or record.get("enforced") is False


def _run_start(record: dict[str, Any], found: SignedRecords) -> None:
    keyid = record.get("bot_auth_keyid")
    if keyid is None:
        return
    where = f"run.start seq {record.get('seq')}"
    jwk = record.get("bot_auth_key")
    if not isinstance(jwk, dict):
        found.problems.append(Finding("export", None, f"{where}: no bot_auth_key JWK"))
        return
    try:
        keys = keys_from_jwk(jwk)
    except BotAuthError as exc:
        found.problems.append(Finding("export", None, f"{where}: bot_auth_key: {exc}"))
        return
    if keyid not in keys:
        found.problems.append(
            Finding("export", None, f"{where}: bot_auth_key is not key {keyid!r}")
        )
        return
    found.keys.update(keys)
    binding = record.get("bot_auth_binding")
    if isinstance(binding, str):
        found.bindings.append((keyid, binding))


def _signature(record: dict[str, Any], found: SignedRecords) -> None:
    sig = record["signature"]
    where = f"{record.get('type')} seq {record.get('seq')}"
    nonce = sig.get("nonce") if isinstance(sig, dict) else None
    if not isinstance(nonce, str) or not nonce:
        found.problems.append(Finding("export", None, f"{where}: signature has no nonce"))
        return
    if nonce in found.by_nonce:
        first = found.by_nonce[nonce]
        found.problems.append(
            Finding("export", None, f"{where}: nonce {nonce} already in seq {first.seq}")
        )
        return
    found.by_nonce[nonce] = Recorded(
        record.get("seq"), str(record.get("type")), record.get("url"), _sendable(record), sig
    )


def signed_records(records: Iterable[dict[str, Any]]) -> SignedRecords:
    """Collect, from a verified log's records, every nonce the crawl chose and the keys its
    runs named."""
    found = SignedRecords()
    for record in records:
        kind = record.get("type")
        if kind == "run.start":
            _run_start(record, found)
        if record.get("signature") is not None:
            _signature(record, found)
        replaces = record.get("replaces")
        if kind == "request.signed" and isinstance(replaces, str):
            found.replaced.add(replaces)
    return found


def _differences(recorded: dict[str, Any], got: dict[str, Any]) -> list[str]:
    return [
        f"{name} {recorded.get(name)!r} recorded, {got[name]!r} received"
        for name in COMPARED
        if recorded.get(name) != got[name]
    ]


def match(
    export: SignedRecords, received: Iterable[Received], keys: KeySet | None = None
) -> MatchReport:
    """Join. `keys`: the key directory's keys (the platform's own copy); None: the keys the
    export's run.start records name."""
    use = dict(export.keys if keys is None else keys)
    operator = set(use) | set(export.keys)  # a key the export names is the operator's too
    report = MatchReport(recorded=len(export.by_nonce), findings=list(export.problems))
    seen: dict[str, int] = {}
    for r in received:
        report.requests += 1
        if not r.signed:
            report.unsigned += 1
            continue
        named = keyids_of(r.headers)
        if named and not operator & set(named):
            report.other_signers += 1
            continue
        what = f"{r.method} {r.url}"
        try:
            verified = verify_request(r.method, r.url, r.headers, use, at=r.time)
        except SignatureInvalid as exc:
            report.findings.append(Finding("bad_signature", r.line, f"{what}: {exc}"))
            continue
        nonce = verified.params.nonce
        if nonce is None:
            report.findings.append(
                Finding("bad_signature", r.line, f"{what}: no nonce: cannot be joined")
            )
            continue
        if nonce in seen:
            report.findings.append(
                Finding(
                    "replayed", r.line, f"{what}: nonce {nonce} was received at line {seen[nonce]}"
                )
            )
            continue
        seen[nonce] = r.line
        recorded = export.by_nonce.get(nonce)
        if recorded is None:
            report.findings.append(
                Finding(
                    "not_in_export",
                    r.line,
                    f"{what}: signed with key {verified.params.keyid}, nonce {nonce}: no record "
                    "in the export holds it",
                )
            )
            continue
        got = {
            "label": verified.params.label,
            "created": verified.params.created,
            "expires": verified.params.expires,
            "keyid": verified.params.keyid,
            "components": list(verified.params.components),
            "base_sha256": verified.base_sha256,
        }
        differences = _differences(recorded.signature, got)
        if differences:
            report.findings.append(
                Finding(
                    "differs",
                    r.line,
                    f"{what}: nonce {nonce}, {recorded.type} seq {recorded.seq}: "
                    + "; ".join(differences),
                )
            )
        elif not recorded.sendable or nonce in export.replaced:
            why = "refuses it" if not recorded.sendable else "was replaced before sending"
            report.findings.append(
                Finding(
                    "not_sent",
                    r.line,
                    f"{what}: nonce {nonce}: its record ({recorded.type} seq {recorded.seq}) "
                    f"{why}, yet it arrived",
                )
            )
        else:
            report.matched += 1
    unseen = [n for n in export.by_nonce if n not in seen]
    report.not_arrived = len(unseen)
    report.replaced = sum(1 for n in unseen if n in export.replaced)
    return report
