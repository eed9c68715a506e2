"""Tampering, case by case, named by the docs/format.md rule that catches it (docs/security.md
lists them). Each case changes a copy of a real crawl's audit directory, or of an export of it,
and returns what to verify; tests/test_audit_tamper_spec.py runs polite_crawl's verifier and the
one written from the specification alone (tests/spec_verifier.py) on every case.

The crawl behind them ran twice on one directory with a checkpoint every 3 records, so logs
have several checkpoints and heads; `earlier` is the directory as the first run left it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING

from polite_crawl.audit import note
from polite_crawl.audit.bundle import sign_manifest
from polite_crawl.audit.keys import load_or_create
from polite_crawl.audit.record import encode
from polite_crawl.audit.store import AuditStore
from polite_crawl.audit.verify import sha256_file
from polite_crawl.testing.crawl import run_cli

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


REDDIT = "https://www.reddit.com"
# A consent grant, so that the crawl's decisions cite Reddit's policy file (evidence to tamper).
GRANT = f"""[[grant]]
id = "reddit-research"
platform = "reddit"
purposes = ["research"]
granted_by = "Reddit"
evidence_url = "https://example.org/g.pdf"
evidence_sha256 = "{"ab" * 32}"
valid_from = 2026-01-01
valid_until = 2099-12-31
"""


@dataclass(frozen=True)
class Sample:
    """The two states of the crawled directory, and scratch space."""

    later: Path  # after both runs
    earlier: Path  # after the first run
    public_key: Path  # the operator's, as a platform pins it
    scratch: Path


@dataclass(frozen=True)
class Target:
    path: Path  # the audit directory or export to verify
    since: Path | None = None  # a kept-checkpoints file, for --since
    pinned: bool = True  # verified with the operator's key, else with the directory's public.key


@dataclass(frozen=True)
class Case:
    rule: str  # the rule of docs/format.md that catches it
    message: str  # part of polite_crawl's message
    make: Callable[[Sample], Target]


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def index_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(lines(path)) if needle.encode() in line)


def index_of_last(path: Path, needle: str) -> int:
    """How many lines from the end the last line holding needle is."""
    return next(i for i, line in enumerate(reversed(lines(path))) if needle.encode() in line)


def copy(sample: Sample, name: str, source: Path | None = None) -> Path:
    target = sample.scratch / name
    shutil.copytree(source or sample.later, target)
    return target


def export(sample: Sample, audit: Path, name: str, platform: str = "reddit") -> Path:
    out = sample.scratch / name
    proc = run_cli("audit", "export", "--platform", platform, "-o", str(out), str(audit))
    assert proc.returncode == 0, proc.stderr
    return out


def keep(sample: Sample, path: Path, name: str) -> Path:
    """What a platform keeps of a directory or export that verifies."""
    kept = sample.scratch / name
    proc = run_cli(
        "audit", "checkpoints", str(path), "-o", str(kept), "--key", str(sample.public_key)
    )
    assert proc.returncode == 0, proc.stderr
    return kept


def rehash(path: Path, changes: dict[int, dict[str, object]]) -> None:
    """Change records and re-hash every line from the first changed one: a forger who knows the
    format but not the key."""
    out = lines(path)
    records = [json.loads(line) for line in out]
    first = min(changes)
    prev = records[first]["prev"]
    for i in range(first, len(records)):
        record = {k: v for k, v in records[i].items() if k != "hash"}
        record.update(changes.get(i, {}))
        record["prev"] = prev
        out[i], prev = encode(record)
    path.write_bytes(b"".join(out))


def resign(audit: Path, *platforms: str) -> None:
    """The key holder signs the changed logs again, with polite_crawl itself: their checkpoints
    and the heads are dropped, and a store sealing each log signs new ones."""
    (audit / "heads.log").unlink()
    for platform in platforms:
        (audit / "logs" / platform / "checkpoints.log").unlink()
    store = AuditStore(audit, contact=None, create_key=False)
    try:
        for platform in platforms:
            store.seal(platform)
    finally:
        store.release()


def remanifest(bundle: Path, signer: Path | None = None) -> None:
    """Recompute an export's file list after changing its files; with signer (an audit directory
    holding the operator's signing.key), sign the new manifest as the key holder would."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"] = {
        p.relative_to(bundle).as_posix(): sha256_file(p)
        for p in sorted(bundle.rglob("*"))
        if p.is_file() and p.name not in ("manifest.json", "manifest.sig")
    }
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    if signer is not None:
        sign_manifest(bundle, str(manifest["origin"]), load_or_create(signer, create=False))


def reddit(audit: Path) -> Path:
    return audit / "logs" / "reddit" / "entries.jsonl"


# --- one log's lines (§2, §4) --------------------------------------------------------------


def flipped_byte(s: Sample) -> Target:
    d = copy(s, "flipped")
    data = bytearray(reddit(d).read_bytes())
    data[data.index(b"/r/science/top") + 3] ^= 0x01
    reddit(d).write_bytes(bytes(data))
    return Target(d)


def deleted_record(s: Sample) -> Target:
    d = copy(s, "deleted")
    out = lines(reddit(d))
    del out[3]
    reddit(d).write_bytes(b"".join(out))
    return Target(d)


def reordered(s: Sample) -> Target:
    d = copy(s, "reordered")
    out = lines(reddit(d))
    out[2], out[3] = out[3], out[2]
    reddit(d).write_bytes(b"".join(out))
    return Target(d)


def rehashed_chain(s: Sample) -> Target:
    d = copy(s, "rehashed")
    rehash(reddit(d), {index_of(reddit(d), '"type":"fetched"'): {"status": 203}})
    return Target(d)


def cut_from_the_end(s: Sample) -> Target:
    d = copy(s, "cut-end")
    reddit(d).write_bytes(b"".join(lines(reddit(d))[:-2]))
    return Target(d)


def torn_tail(s: Sample) -> Target:
    d = copy(s, "torn")
    reddit(d).write_bytes(reddit(d).read_bytes()[:-40])
    return Target(d)


def carriage_return(s: Sample) -> Target:
    d = copy(s, "cr")
    data = reddit(d).read_bytes()
    reddit(d).write_bytes(data.replace(b"\n", b"\r", 1))
    return Target(d)


def swapped_logs(s: Sample) -> Target:
    d = copy(s, "swapped")
    logs = d / "logs"
    (logs / "reddit").rename(logs / "tmp")
    (logs / "_sites").rename(logs / "reddit")
    (logs / "tmp").rename(logs / "_sites")
    return Target(d)


def replaced_key(s: Sample) -> Target:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    d = copy(s, "other-key")
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    (d / "public.key").write_text(f"ed25519 {other.hex()}\n")
    return Target(d, pinned=False)


# --- heads (§5) ----------------------------------------------------------------------------


def cut_back_to_a_checkpoint(s: Sample) -> Target:
    """The issue's case: the first N records and the checkpoints up to N kept, no key needed."""
    d = copy(s, "cut-back")
    checkpoints = d / "logs" / "reddit" / "checkpoints.log"
    kept = lines(checkpoints)[:2]
    size = json.loads(kept[-1])["size"]
    reddit(d).write_bytes(b"".join(lines(reddit(d))[:size]))
    checkpoints.write_bytes(b"".join(kept))
    return Target(d)


def deleted_log(s: Sample) -> Target:
    d = copy(s, "deleted-log")
    shutil.rmtree(d / "logs" / "twitter")
    return Target(d)


def heads_cut_back(s: Sample) -> Target:
    d = copy(s, "heads-cut")
    heads = d / "heads.log"
    heads.write_bytes(b"".join(lines(heads)[:-1]))
    return Target(d)


def heads_deleted(s: Sample) -> Target:
    d = copy(s, "heads-deleted")
    (d / "heads.log").unlink()
    return Target(d)


def heads_rewritten(s: Sample) -> Target:
    d = copy(s, "heads-reordered")
    heads = d / "heads.log"
    out = lines(heads)
    out[0], out[1] = out[1], out[0]
    heads.write_bytes(b"".join(out))
    return Target(d)


# --- evidence (§7) -------------------------------------------------------------------------


def _cited(audit: Path, needle: str) -> Path:
    text = reddit(audit).read_text()
    at = text.index(needle) + len(needle)
    return audit / "evidence" / text[at : at + 64]


def changed_robots(s: Sample) -> Target:
    d = copy(s, "robots-changed")
    _cited(d, '"sha256":"').write_bytes(b"User-agent: *\nAllow: /\n")
    return Target(d)


def changed_policy(s: Sample) -> Target:
    d = copy(s, "policy-changed")
    path = _cited(d, '"policy_sha256":"')
    path.write_bytes(path.read_bytes().replace(b'"consent-required"', b'"allowed"'))
    return Target(d)


def deleted_policy(s: Sample) -> Target:
    d = copy(s, "policy-deleted")
    _cited(d, '"policy_sha256":"').unlink()
    return Target(d)


# --- what records say (§9), signed again by the key holder ---------------------------------


def other_platform(s: Sample) -> Target:
    d = copy(s, "other-platform")
    rehash(reddit(d), {index_of(reddit(d), '"platform":"reddit"'): {"platform": "twitter"}})
    resign(d, "reddit")
    return Target(d)


def wrong_counts(s: Sample) -> Target:
    d = copy(s, "counts")
    end = index_of(reddit(d), '"type":"run.end"')
    counts = dict(json.loads(lines(reddit(d))[end])["counts"])
    counts["fetched"] = counts.get("fetched", 0) + 5
    rehash(reddit(d), {end: {"counts": counts}})
    resign(d, "reddit")
    return Target(d)


def fetched_after_a_refusal(s: Sample) -> Target:
    d = copy(s, "fetched-refused")
    refused = json.loads(lines(reddit(d))[index_of(reddit(d), '"decision":"deny"')])
    fetched = len(lines(reddit(d))) - 1 - index_of_last(reddit(d), '"type":"fetched"')
    rehash(reddit(d), {fetched: {"url": refused["url"]}})
    resign(d, "reddit")
    return Target(d)


# --- exports (§8) --------------------------------------------------------------------------


def _cut_export(s: Sample, name: str, *, heads: bool) -> Path:
    """The issue's case, in an export: first N lines, checkpoints up to N (and, with heads, the
    heads up to the last that holds checkpoint N), the manifest's records and files redone."""
    out = export(s, s.later, name)
    checkpoints = out / "checkpoints.log"
    kept = lines(checkpoints)[:2]
    size = json.loads(kept[-1])["size"]
    (out / "entries.jsonl").write_bytes(b"".join(lines(out / "entries.jsonl")[:size]))
    checkpoints.write_bytes(b"".join(kept))
    if heads:
        body = note.note_text(json.loads(kept[-1])["note"])
        mine = note.commitment(body)
        held = [i for i, line in enumerate(lines(out / "heads.log")) if mine.encode() in line]
        (out / "heads.log").write_bytes(b"".join(lines(out / "heads.log")[: held[-1] + 1]))
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["records"] = size
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def export_cut_back(s: Sample) -> Target:
    """By the key holder, heads kept: the later heads no longer hold the log."""
    out = _cut_export(s, "x-cut-back", heads=False)
    remanifest(out, s.later)
    return Target(out)


def export_cut_back_with_heads(s: Sample) -> Target:
    """Without the key, heads cut back too: consistent, but the manifest's signature is gone."""
    out = _cut_export(s, "x-cut-back-heads", heads=True)
    remanifest(out)
    return Target(out)


def export_policy_swapped(s: Sample) -> Target:
    out = export(s, s.later, "x-policy")
    policy = next((out / "policies").iterdir())
    policy.write_bytes(policy.read_bytes().replace(b'"consent-required"', b'"allowed"'))
    remanifest(out, s.later)
    return Target(out)


def export_policy_missing(s: Sample) -> Target:
    out = export(s, s.later, "x-no-policy")
    shutil.rmtree(out / "policies")
    remanifest(out, s.later)
    return Target(out)


def export_heads_removed(s: Sample) -> Target:
    out = export(s, s.later, "x-no-heads")
    (out / "heads.log").unlink()
    remanifest(out, s.later)
    return Target(out)


def export_manifest_redone_without_the_key(s: Sample) -> Target:
    out = export(s, s.later, "x-keyless")
    (out / "evidence" / "extra").write_bytes(b"slipped in")
    remanifest(out)
    return Target(out)


def export_unsigned(s: Sample) -> Target:
    out = export(s, s.later, "x-unsigned")
    (out / "manifest.sig").unlink()
    return Target(out)


def export_with_a_fifo(s: Sample) -> Target:
    import os

    out = export(s, s.later, "x-fifo")
    evidence = next((out / "evidence").iterdir())
    evidence.unlink()
    os.mkfifo(evidence)
    return Target(out)


def emptied_directory(s: Sample) -> Target:
    """Every log and the heads deleted: a kept checkpoint still names them."""
    kept = keep(s, s.later, "kept-emptied.json")
    d = copy(s, "emptied")
    shutil.rmtree(d / "logs")
    (d / "logs").mkdir()
    (d / "heads.log").unlink()
    return Target(d, kept)


def export_evidence_changed(s: Sample) -> Target:
    out = export(s, s.later, "x-evidence")
    next((out / "evidence").iterdir()).write_bytes(b"User-agent: *\nAllow: /\n")
    return Target(out)


def export_unlisted_file(s: Sample) -> Target:
    out = export(s, s.later, "x-unlisted")
    (out / "evidence" / "extra").write_bytes(b"not listed")
    return Target(out)


def _manifest_edit(field: str, value: object) -> Callable[[Sample], Target]:
    """The key holder edits a field and signs the manifest again: the field is checked itself."""

    def make(s: Sample) -> Target:
        out = export(s, s.later, f"x-manifest-{field}")
        manifest = json.loads((out / "manifest.json").read_text())
        manifest[field] = value
        (out / "manifest.json").write_text(json.dumps(manifest))
        if field != "origin":
            sign_manifest(out, str(manifest["origin"]), load_or_create(s.later, create=False))
        else:
            sign_manifest(out, "x/polite-crawl/reddit", load_or_create(s.later, create=False))
        return Target(out)

    return make


# --- kept checkpoints (§10) ----------------------------------------------------------------


def rolled_back_directory(s: Sample) -> Target:
    """Every log and the heads back at the first run's end: consistent, so only a checkpoint
    kept after the second run shows it."""
    kept = keep(s, s.later, "kept-later.json")
    return Target(copy(s, "rolled-back", s.earlier), kept)


def rolled_back_export(s: Sample) -> Target:
    kept = keep(s, export(s, s.later, "x-later"), "kept-later-export.json")
    return Target(export(s, s.earlier, "x-earlier"), kept)


def forked_log(s: Sample) -> Target:
    """The key holder rewrote an early record and signed everything again."""
    kept = keep(s, s.later, "kept-fork.json")
    d = copy(s, "forked")
    rehash(reddit(d), {index_of(reddit(d), '"type":"fetched"'): {"status": 203}})
    resign(d, "reddit")
    return Target(d, kept)


def deleted_since_kept(s: Sample) -> Target:
    kept = keep(s, s.later, "kept-deleted.json")
    d = copy(s, "deleted-since")
    shutil.rmtree(d / "logs" / "twitter")
    resign(d, "reddit")
    return Target(d, kept)


def kept_by_another_key(s: Sample) -> Target:
    from polite_crawl.audit import note
    from polite_crawl.audit.keys import load_or_create

    kept = keep(s, s.later, "kept-other-key.json")
    data = json.loads(kept.read_text())
    (s.scratch / "forger").mkdir()
    forger = load_or_create(s.scratch / "forger")
    for name, signed in data["checkpoints"].items():
        text = note.note_text(signed)
        data["checkpoints"][name] = note.sign_text(text, text.split("\n", 1)[0], forger)
    kept.write_text(json.dumps(data))
    return Target(copy(s, "other-key-kept"), kept)


CASES: dict[str, Case] = {
    "flipped byte": Case("§2 hash", "does not match its hash (modified)", flipped_byte),
    "deleted record": Case("§2 seq", "a record was deleted, inserted or moved", deleted_record),
    "reordered records": Case("§2 seq", "sequence 3 where 2 was expected", reordered),
    "record changed, chain re-hashed": Case(
        "§4 root", "do not hash to the signed root", rehashed_chain
    ),
    "records cut from the end": Case(
        "§4 size", "records were removed from the end", cut_from_the_end
    ),
    "torn tail": Case("§1 torn tail", "torn tail: the last line is incomplete", torn_tail),
    "newline turned into CR": Case("§1 CR", "carriage return", carriage_return),
    "two logs swapped": Case("§2 origin", "logs were swapped or renamed", swapped_logs),
    "public.key replaced": Case("§4 signature", "no signature by the expected key", replaced_key),
    "log cut back to an earlier checkpoint": Case(
        "H3", "no longer holds the log of reddit", cut_back_to_a_checkpoint
    ),
    "a log directory deleted": Case("H5", "that no log here holds", deleted_log),
    "last head removed": Case(
        "H4", "the last head does not hold the last checkpoint", heads_cut_back
    ),
    "heads.log deleted": Case("H1", "heads.log: missing", heads_deleted),
    "heads reordered": Case("H2", "head 1 where head 0 was expected", heads_rewritten),
    "robots.txt evidence changed": Case("E1", "the evidence bytes do not match", changed_robots),
    "policy evidence changed": Case("E1", "the evidence bytes do not match", changed_policy),
    "policy evidence deleted": Case(
        "E1", "the evidence a record cites is missing", deleted_policy
    ),
    "record names another platform (re-signed)": Case(
        "R3", "a record of platform 'twitter' in the log of 'reddit'", other_platform
    ),
    "run.end counts wrong (re-signed)": Case("R5", "run.end counts", wrong_counts),
    "fetched after a refusal (re-signed)": Case(
        "R1", "was fetched after an enforced refusal", fetched_after_a_refusal
    ),
    "export cut back, manifest redone (re-signed)": Case(
        "H3", "no longer holds the log of reddit", export_cut_back
    ),
    "export and its heads cut back, manifest redone (no key)": Case(
        "M0", "signs another manifest", export_cut_back_with_heads
    ),
    "export file added, manifest redone (no key)": Case(
        "M0", "signs another manifest", export_manifest_redone_without_the_key
    ),
    "export signature removed": Case("M0", "the export is not signed", export_unsigned),
    "export holding a FIFO": Case("M2", "not a regular file", export_with_a_fifo),
    "every log and the heads deleted (kept checkpoint)": Case(
        "S2", "it was deleted since it was kept", emptied_directory
    ),
    "export policy file swapped, manifest redone": Case(
        "E1", "the policy file bytes do not match", export_policy_swapped
    ),
    "export policy file removed, manifest redone": Case(
        "E1", "the policy file a record cites is missing", export_policy_missing
    ),
    "export heads removed, manifest redone": Case(
        "H1", "heads.log: missing", export_heads_removed
    ),
    "export evidence changed": Case(
        "M2", "does not match the sha256 in the manifest", export_evidence_changed
    ),
    "export file not in the manifest": Case(
        "M2", "not listed: evidence/extra", export_unlisted_file
    ),
    "manifest records edited": Case("M3", "records says 3", _manifest_edit("records", 3)),
    "manifest origin edited": Case(
        "M3", "origin says", _manifest_edit("origin", "x/polite-crawl/reddit")
    ),
    "manifest platform edited": Case(
        "M3", "not of platform 'twitter'", _manifest_edit("platform", "twitter")
    ),
    "manifest fingerprint edited": Case(
        "M4", "fingerprint says", _manifest_edit("fingerprint", "00" * 32)
    ),
    "manifest public_key edited": Case(
        "M4", "public_key says", _manifest_edit("public_key", "11" * 32)
    ),
    "directory rolled back (kept checkpoint)": Case(
        "S3", "the log was cut back since", rolled_back_directory
    ),
    "export of a rolled-back log (kept checkpoint)": Case(
        "S3", "the log was cut back since", rolled_back_export
    ),
    "log forked and re-signed (kept checkpoint)": Case("S3", "the log forked", forked_log),
    "log deleted since kept": Case("S2", "it was deleted since it was kept", deleted_since_kept),
    "kept checkpoints by another key": Case("S1", "not signed by this key", kept_by_another_key),
}
