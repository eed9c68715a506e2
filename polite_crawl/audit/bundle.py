"""Audit directories and export bundles: finding logs, keys, sealing a crashed crawl's log and
writing one platform's export.

An export holds that platform's log byte for byte, its signed checkpoints, the directory's
signed heads (which name no log), the public key, the robots.txt bytes and policy files its
decisions cite (by sha256), a manifest of sha256 sums, a README for the platform and the format
specification (FORMAT.md, a copy of docs/format.md). No other platform's or site's log is in it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polite_crawl.audit import keys
from polite_crawl.audit.heads import HEADS
from polite_crawl.audit.logfile import CHECKPOINTS, ENTRIES, AuditError
from polite_crawl.audit.note import open_text, sign_text
from polite_crawl.audit.progress import Progress, estimate_records
from polite_crawl.audit.record import decode
from polite_crawl.audit.store import AuditStore
from polite_crawl.audit.verify import EMPTY_SHA256, Invalid, sha256_file

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from polite_crawl.audit.verify import LogReport

MANIFEST = "manifest.json"
# The operator's signature over manifest.json (a signed note naming its sha256): what binds every
# file of the export, whose sha256 the manifest lists, to the operator's key.
SIGNATURE = "manifest.sig"
EXPORT_SUFFIX = "/polite-crawl/export"
FORMAT = "polite-crawl-audit-export/v1"
SPEC = "FORMAT.md"


def spec_source() -> Path:
    """docs/format.md: in a wheel, where the build put it (pyproject.toml force-include); in a
    source checkout, the file itself."""
    packaged = Path(__file__).with_name(SPEC)
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "docs" / "format.md"


def is_bundle(path: Path) -> bool:
    return (path / MANIFEST).is_file()


def log_dirs(path: Path) -> dict[str, Path]:
    """platform -> directory holding entries.jsonl, for an audit dir or a bundle."""
    if is_bundle(path):
        manifest = read_manifest(path)
        return {str(manifest["platform"]): path}
    logs = path / "logs"
    if not logs.is_dir():
        raise Invalid(
            str(path),
            f"neither an audit directory (no logs/) nor an export bundle (no {MANIFEST})",
        )
    # Either file makes a directory a log: deleting one of them must not hide the other.
    return {
        d.name: d
        for d in sorted(logs.iterdir())
        if d.is_dir() and ((d / ENTRIES).exists() or (d / CHECKPOINTS).exists())
    }


def read_manifest(bundle: Path) -> dict[str, Any]:
    where = str(bundle / MANIFEST)
    if (bundle / MANIFEST).is_symlink() or not (bundle / MANIFEST).is_file():
        raise Invalid(where, "not a regular file")
    try:
        manifest = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise Invalid(where, f"unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise Invalid(where, f"not a {FORMAT} manifest")
    platform = manifest.get("platform")
    if not isinstance(platform, str) or not platform or "/" in platform or platform[0] == ".":
        raise Invalid(where, f"platform {platform!r} is not a platform id")
    return manifest


def open_file_signature(
    sig: Path, public: bytes, suffix: str, what: str, kind: str
) -> tuple[str, str]:
    """A signature file of two lines (its key name, ending with suffix, and a file's sha256),
    a signed note by the pinned key: its key name. what: what is signed ("export"), kind: how
    it reads when it is not such a note ("an export signature (origin, manifest sha256)").
    Returns the key name and the sha256 it signs."""
    where = str(sig)
    if sig.is_symlink() or not sig.is_file():
        raise Invalid(where, f"missing: the {what} is not signed")
    try:
        note = sig.read_text(encoding="utf-8")
        name = note.split("\n", 1)[0]
        body = open_text(note, name, public).split("\n")
    except (OSError, ValueError) as exc:  # NoteError and UnicodeDecodeError are ValueErrors
        raise Invalid(where, f"{exc}: not signed by this key, or altered") from None
    if not name.endswith(suffix) or len(body) != 3 or body[2]:
        raise Invalid(where, f"not {kind}")
    return name, body[1]


def check_signature(bundle: Path, public: bytes) -> None:
    """M0: manifest.sig, a signed note by the operator's key, names manifest.json's sha256.
    Without it anyone could cut an export back (with its heads) and list the files anew."""
    _, signed = open_file_signature(
        bundle / SIGNATURE,
        public,
        EXPORT_SUFFIX,
        "export",
        "an export signature (origin, manifest sha256)",
    )
    if signed != sha256_file(bundle / MANIFEST):
        raise Invalid(str(bundle / SIGNATURE), "signs another manifest: manifest.json was changed")


def sign_manifest(bundle: Path, origin: str, key: Ed25519PrivateKey) -> None:
    operator = origin.rsplit("/polite-crawl/", 1)[0]
    name = operator + EXPORT_SUFFIX
    text = f"{name}\n{sha256_file(bundle / MANIFEST)}\n"
    (bundle / SIGNATURE).write_text(sign_text(text, name, key))


def check_files(bundle: Path) -> None:
    """M1, M2: the bundle's files are exactly those its manifest lists, with their sha256."""
    manifest = read_manifest(bundle)
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise Invalid(str(bundle / MANIFEST), "no file list")
    present: set[str] = set()
    for p in bundle.rglob("*"):
        name = p.relative_to(bundle).as_posix()
        if p.is_symlink() or not (p.is_dir() or p.is_file()):
            # A FIFO would block a reader for ever; a link could point anywhere.
            raise Invalid(str(p), "not a regular file or directory")
        if p.is_file() and name not in (MANIFEST, SIGNATURE):
            present.add(name)
    if present != set(files):
        extra, missing = sorted(present - set(files)), sorted(set(files) - present)
        raise Invalid(
            str(bundle / MANIFEST),
            f"the bundle's files differ from the manifest "
            f"(not listed: {', '.join(extra) or '-'}; missing: {', '.join(missing) or '-'})",
        )
    for name, digest in sorted(files.items()):
        path = bundle / name
        if name.startswith("/") or ".." in name.split("/") or path.is_symlink():
            raise Invalid(str(path), "a manifest entry outside the bundle or a link")
        if not path.is_file():
            raise Invalid(str(path), "listed in the manifest but missing")
        if sha256_file(path) != digest:
            raise Invalid(str(path), "does not match the sha256 in the manifest")


def check_fields(bundle: Path, report: LogReport, public: bytes) -> None:
    """M3, M4: the manifest's other fields say what the bundle holds (the manifest is not signed:
    nothing in it is believed unchecked)."""
    manifest = read_manifest(bundle)
    where = str(bundle / MANIFEST)
    expected = {
        "platform": report.platform,
        "origin": report.origin,
        "records": report.records,
        "public_key": public.hex(),
        "fingerprint": keys.fingerprint(public),
    }
    for name, value in expected.items():
        if manifest.get(name) != value or type(manifest.get(name)) is not type(value):
            raise Invalid(where, f"{name} says {manifest.get(name)!r}, the bundle holds {value!r}")
    try:
        own = keys.read_public(bundle / keys.PUBLIC_FILE)
    except keys.SigningKeyError as exc:
        raise Invalid(str(bundle / keys.PUBLIC_FILE), str(exc)) from None
    if own != public:
        raise Invalid(
            str(bundle / keys.PUBLIC_FILE), "is not the operator's key the bundle is verified with"
        )


def public_key(path: Path, pinned: Path | None, fingerprint: str | None = None) -> bytes:
    """The key checkpoints must be signed with. A bundle's own public.key proves nothing (a
    forger re-signs and replaces it), so a bundle needs the key or its fingerprint from the
    operator, obtained separately."""
    if pinned is None and fingerprint is None and is_bundle(path):
        raise Invalid(
            str(path / keys.PUBLIC_FILE),
            "an export is verified against the "
            "operator's key obtained separately: give --key FILE or --fingerprint "
            "sha256:HEX (the bundle's own public.key could have been replaced)",
        )
    source = pinned or path / keys.PUBLIC_FILE
    try:
        public = keys.read_public(source)
    except keys.SigningKeyError as exc:
        raise Invalid(str(source), str(exc)) from None
    if fingerprint is not None and keys.fingerprint(public) != fingerprint.removeprefix("sha256:"):
        raise Invalid(
            str(source),
            f"the key's fingerprint is sha256:{keys.fingerprint(public)}, "
            f"not {fingerprint}: not the operator's key",
        )
    return public


README = """# Audit export: {platform}

This folder is a complete, signed record of what one crawler did on {platform}: every
decision it made about a request to {platform} (allowed, refused and why), every robots.txt it
fetched there, and every response it received, in order. It was produced by polite_crawl
(https://pypi.org/project/polite-crawl/).

- `entries.jsonl`: the log, one JSON record per line, exactly as written during the crawl.
  Each line carries the sha256 of its own content and of the line before it.
- `checkpoints.log`: signed checkpoints (C2SP signed-note / tlog-checkpoint format, Ed25519)
  over the RFC 6962 Merkle tree of the lines. The last one covers the whole log.
- `heads.log`: signed heads over all of the operator's logs at each checkpoint round. They
  name no other log; they show that this log was never cut back while the others went on.
- `public.key`: the operator's public key.
- `evidence/`: the robots.txt bodies the decisions cite, named by their sha256.
- `policies/`: the platform policy files the decisions applied, named by their sha256.
- `manifest.json`: the sha256 of every file here, and what the export holds.
- `manifest.sig`: the operator's signature over `manifest.json`: without the key, nothing here
  can be changed, added or removed.
- `FORMAT.md`: the specification of every file and of every rule a verifier enforces.

## 1. Get the operator's key, separately

Everything here is signed with the operator's Ed25519 key, whose fingerprint is
`sha256:{fingerprint}`. Do not trust that line or the `public.key` in this folder: a forger
would replace them together with the log. Get the fingerprint (or the `public.key` file) from
the operator through another channel: their crawler's web page (the product token's URL), an
e-mail you can check, or your contract with them. Keep it: every later export must verify
against the same key.

## 2. Verify with polite_crawl

```sh
pip install polite-crawl
polite-crawl audit verify . --fingerprint sha256:<the fingerprint you obtained>
```

Exit status 0 means every line, the chain, every checkpoint and head signature, the Merkle
roots, the evidence and policy files, the manifest and the rules check out (nothing fetched
without an allow decision or after a refusal; every robots.txt cited was fetched and at most
24 hours old); 1 names the first file and line that does not.

Keep what you verified, so that the next export can be checked against it (a log cut back or
rewritten since then fails):

```sh
polite-crawl audit checkpoints . --fingerprint sha256:<...> -o ../{platform}-checkpoints.json
polite-crawl audit verify NEXT-EXPORT --fingerprint sha256:<...> \\
    --since ../{platform}-checkpoints.json
```

(Keep that file outside the export: a file added to an export makes it fail.) Your first export
is the one you trust on first use: a later one must extend it.

## 3. Verify without polite_crawl

`FORMAT.md` specifies every byte: how a line is hashed, the Merkle tree, the signed notes, the
heads, the manifest, and each rule, with worked examples. A verifier needs SHA-256, Ed25519 and
a JSON parser (Python's standard library and `cryptography` are enough; polite_crawl's own test
suite holds one such verifier of under 400 lines, written from that text alone).

Log origin: `{origin}`. Records: {records}. Contains no other site's or platform's records.
"""


def signing_key(directory: Path, key_file: Path | None = None) -> Ed25519PrivateKey:
    """The key that signs a directory's logs: its own signing.key, the shared key its
    signing.key.path names, or key_file (a shared key found elsewhere); never a new one."""
    try:
        if key_file is not None:
            return keys.load_shared(directory, key_file)
        return keys.load_or_create(directory, create=False)
    except keys.SigningKeyError as exc:
        raise Invalid(str(directory), str(exc)) from None


def seal(path: Path, *platforms: str, key_file: Path | None = None) -> dict[str, int]:
    """Sign what a crashed crawl left unsigned in these logs (repairing torn tails) and a head,
    under one hold of the directory's lock: before exporting, or for `audit seal`. Returns the
    records of each log sealed; a platform with no log is skipped (export() says it is missing).
    """
    present = [p for p in platforms if (path / "logs" / p / ENTRIES).exists()]
    if not present:
        return {}
    sealed: dict[str, int] = {}
    try:
        store = AuditStore(path, contact=None, create_key=False, key_file=key_file)
        try:
            for platform in present:
                sealed[platform] = store.seal(platform)
        finally:
            store.release()
    except (AuditError, keys.SigningKeyError) as exc:
        raise Invalid(str(path / "logs"), str(exc)) from None
    return sealed


def export(
    audit_dir: Path,
    platform: str,
    out: Path,
    policy_files: dict[str, Path],
    key_file: Path | None = None,
    *,
    progress: bool = False,
) -> dict[str, Any]:
    """policy_files: sha256 -> path of the policy files known here (bundled and your own).
    key_file: the shared key signing the directory's logs, where signing.key.path does not name
    it (a directory collected from another machine). progress: a bar on stderr for a long log
    (progress.py)."""
    source = audit_dir / "logs" / platform
    if not (source / ENTRIES).exists():
        known = ", ".join(sorted(log_dirs(audit_dir))) or "none"
        raise Invalid(str(source), f"no log for platform {platform!r} (logs: {known})")
    key = signing_key(audit_dir, key_file)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / ENTRIES, out / ENTRIES)
    for name in (CHECKPOINTS,):
        if (source / name).exists():
            shutil.copyfile(source / name, out / name)
    if (audit_dir / HEADS).exists():
        shutil.copyfile(audit_dir / HEADS, out / HEADS)
    shutil.copyfile(audit_dir / keys.PUBLIC_FILE, out / keys.PUBLIC_FILE)
    shutil.copyfile(spec_source(), out / SPEC)
    origin, records, robots, policies = _cited(out / ENTRIES, f"export {platform}", progress)
    for digest in sorted(robots):
        _copy_cited(audit_dir / "evidence" / digest, out / "evidence" / digest, digest)
    for digest in sorted(policies):
        # The bytes the crawl read (kept as evidence at its start), else a file known here with
        # the same sha256; neither: verify names the policy missing.
        target = out / "policies" / f"{digest}.toml"
        _copy_cited(audit_dir / "evidence" / digest, target, digest)
        if not target.exists() and digest in policy_files:
            _copy_cited(policy_files[digest], target, digest)
    public = keys.read_public(out / keys.PUBLIC_FILE)
    (out / "README.md").write_text(
        README.format(
            platform=platform, fingerprint=keys.fingerprint(public), origin=origin, records=records
        )
    )
    files = {
        p.relative_to(out).as_posix(): sha256_file(p)
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.relative_to(out).as_posix() not in (MANIFEST, SIGNATURE)
    }
    manifest = {
        "format": FORMAT,
        "platform": platform,
        "origin": origin,
        "records": records,
        "public_key": public.hex(),
        "fingerprint": keys.fingerprint(public),
        "files": files,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    sign_manifest(out, origin, key)
    return manifest


def _copy_cited(source: Path, target: Path, digest: str | None = None) -> None:
    if not source.is_file() or (digest is not None and sha256_file(source) != digest):
        return  # evidence that is gone or changed is not exported; verify names it missing
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def _cited(entries: Path, label: str, progress: bool) -> tuple[str, int, set[str], set[str]]:
    origin, records = "", 0
    robots: set[str] = set()
    policies: set[str] = set()
    total = estimate_records(entries, entries.stat().st_size) if progress else 0
    bar = Progress(label, total, enabled=progress)
    with open(entries, "rb") as fh:
        for line in fh:
            record, _ = decode(line.rstrip(b"\n"))
            records += 1
            if records & 1023 == 0:
                bar.update(records)
            origin = origin or str(record.get("log"))
            if record.get("type") == "preflight":
                robots.add(str((record.get("evidence") or {}).get("sha256")))
            robots.discard(EMPTY_SHA256)
            tos = (
                (record.get("evidence") or {}).get("tos")
                if record.get("type") == "decision"
                else None
            )
            if isinstance(tos, dict) and tos.get("policy_sha256"):
                policies.add(str(tos["policy_sha256"]))
    bar.close(records)
    return origin, records, robots, policies
