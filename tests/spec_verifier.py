"""A verifier of polite_crawl audit directories and exports, written from FORMAT.md alone.

§ numbers and rule names (H1, M2, R3, S4, ...) refer to FORMAT.md."""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import math
import re
import sys
from pathlib import Path
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

HEX64 = re.compile(r"[0-9a-f]{64}")
TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
HASH_TAIL = re.compile(rb',"hash":"[0-9a-f]{64}"\}')
SIG_LINE = re.compile(r"\u2014 ([^\s+]+) (\S+)")
ZERO, EMPTY = "0" * 64, hashlib.sha256(b"").hexdigest()
EPOCH = dt.datetime(1970, 1, 1)


class Invalid(Exception):
    """The input does not verify; the message says why."""


def need(condition: object, message: str) -> None:
    if not condition:
        raise Invalid(message)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _finite(text: str) -> float:  # also rejects NaN, Infinity and 1e999
    if not math.isfinite(value := float(text)):
        raise ValueError(f"{text[:20]} is not a finite number")
    return value


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(out := dict(pairs)) != len(pairs):
        raise ValueError("duplicate key")
    return out


DECODER = json.JSONDecoder(parse_constant=_finite, parse_float=_finite, object_pairs_hook=_unique)
TYPES = {"int": (int,), "num": (int, float), "str": (str,), "bool": (bool,), "dict": (dict,)}


def parse_json(data: bytes, what: str) -> Any:  # strict RFC 8259 JSON; raises only Invalid
    try:
        return DECODER.decode(data.decode("utf-8"))
    except (ValueError, RecursionError, TypeError) as e:
        raise Invalid(f"{what}: bad JSON ({str(e)[:80]})") from None


def field(obj: Any, key: str, kind: str, what: str, optional: bool = False) -> Any:
    """obj[key], checked to be of `kind`; None if optional and absent or null."""
    value = obj.get(key) if isinstance(obj, dict) else None
    ok = type(value) in TYPES.get(kind, (str,)) and (kind != "hex" or HEX64.fullmatch(str(value)))
    need((optional and value is None) or ok, f"{what}: {key!r} is not {kind}")
    return value


def read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise Invalid(f"{what}: cannot read {path.name} ({e.strerror})") from None


def read_lines(path: Path, what: str) -> list[bytes]:
    data = read(path, what)
    need(not data or data.endswith(b"\n"), f"{what}: torn tail (last byte is not LF)")
    return data.split(b"\n")[:-1]


def parse_ts(text: Any, what: str) -> float:  # RFC 3339 UTC with microseconds, to POSIX
    need(isinstance(text, str) and TS.fullmatch(text), f"{what}: bad time {str(text)[:40]!r}")
    return (dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ") - EPOCH).total_seconds()


def parse_public_key(data: bytes, what: str = "public.key") -> bytes:
    """The §6 file: `ed25519 <hex>` and `fingerprint sha256:<hex>`; returns the raw key."""
    m = re.fullmatch(rb"ed25519 ([0-9a-f]{64})\nfingerprint sha256:([0-9a-f]{64})\n?", data)
    if not m:
        raise Invalid(f"{what}: not a public.key file")
    need(sha(key := bytes.fromhex(m[1].decode())) == m[2].decode(), f"{what}: wrong fingerprint")
    return key


def b64(text: str) -> bytes:  # strict canonical RFC 4648 base64 with padding; b"" if not
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        return b""
    return raw if base64.b64encode(raw).decode() == text else b""


def open_note(note: str, name: str | None, key: bytes, what: str) -> tuple[str, bytes]:
    """Open a signed note (§4) as `name` (None: its first line); returns the body as str, bytes."""
    cut = note.find("\n\n")
    need(cut >= 0 and note.endswith("\n"), f"{what}: not a signed note")
    body, sigs = note[: cut + 1], note[cut + 2 : -1]
    name = body.split("\n", 1)[0] if name is None else name
    body_bytes, key_name = body.encode(), name.encode()  # a lone surrogate: ValueError
    key_id = hashlib.sha256(key_name + b"\n\x01" + key).digest()[:4]
    good = False
    for line in sigs.split("\n"):
        m = SIG_LINE.fullmatch(line)
        raw = b64(m[2]) if m else b""
        need(m and len(raw) > 4, f"{what}: malformed signature line {line[:40]!r}")
        if m is None or m[1] != name or raw[:4] != key_id:
            continue  # unknown signer: ignored
        try:
            Ed25519PublicKey.from_public_bytes(key).verify(raw[4:], body_bytes)
        except (InvalidSignature, ValueError):
            raise Invalid(f"{what}: signature by {name[:60]!r} does not verify") from None
        good = True
    need(good, f"{what}: no signature by the pinned key named {name[:60]!r}")
    return body, body_bytes


def parse_checkpoint(body: str, origin: str, what: str) -> tuple[int, bytes]:  # §4: (n, root)
    lines = body.split("\n")
    need(len(lines) == 4 and lines[3] == "", f"{what}: checkpoint body is not three lines")
    need(lines[0] == origin, f"{what}: checkpoint origin {lines[0][:60]!r} is not {origin!r}")
    need(re.fullmatch(r"0|[1-9][0-9]{0,17}", lines[1]), f"{what}: bad checkpoint size")
    need(len(root := b64(lines[2])) == 32, f"{what}: root is not base64 of 32 bytes")
    return int(lines[1]), root


def tree_roots(leaves: list[bytes], sizes: set[int]) -> dict[int, bytes]:  # MTH at each size
    out = {0: hashlib.sha256(b"").digest()} if 0 in sizes else {}
    stack: list[tuple[int, bytes]] = []  # perfect subtrees, sizes strictly decreasing
    for count, leaf in enumerate(leaves, 1):
        stack.append((1, hashlib.sha256(b"\x00" + leaf).digest()))
        while len(stack) > 1 and stack[-1][0] == stack[-2][0]:
            (_, right), (size, left) = stack.pop(), stack.pop()
            stack.append((2 * size, hashlib.sha256(b"\x01" + left + right).digest()))
        if count in sizes:
            root = stack[-1][1]
            for _, left in reversed(stack[:-1]):
                root = hashlib.sha256(b"\x01" + left + root).digest()
            out[count] = root
    return out


class Log(NamedTuple):
    platform: str
    origin: str
    leaves: list[bytes]
    records: list[dict[str, Any]]
    checkpoints: list[tuple[int, str]]  # (size, commitment), in file order


Logs = dict[str, Log]


def verify_log(entries: Path, cps: Path, platform: str, key: bytes) -> Log:  # §2 and §4
    what = f"log {platform!r}"
    leaves = read_lines(entries, f"{what} entries.jsonl")
    need(leaves, f"{what}: the log is empty")
    records: list[dict[str, Any]] = []
    prev, origin = ZERO, ""
    for i, line in enumerate(leaves):
        w = f"{what} line {i}"
        need(b"\r" not in line, f"{w}: carriage return")
        need(HASH_TAIL.fullmatch(line[-75:]), f"{w}: does not end with the spliced hash")
        digest, body = line[-66:-2].decode(), line[:-75] + b"}"
        need(sha(body) == digest, f"{w}: hash does not match the line")
        rec = parse_json(body, w)
        need(isinstance(rec, dict) and "hash" not in rec, f"{w}: not an object, or two hashes")
        ok = field(rec, "v", "int", w) == 1 and field(rec, "seq", "int", w) == i
        need(ok, f"{w}: v is not 1 or seq is not {i}")
        need(field(rec, "prev", "str", w) == prev, f"{w}: prev is not the previous hash")
        log = field(rec, "log", "str", w)
        ok = log.endswith(f"/polite-crawl/{platform}") and (i == 0 or log == origin)
        need(ok, f"{w}: origin {log[:60]!r} is not {what}'s, or changed")
        parse_ts(rec.get("ts"), w), field(rec, "type", "str", w)
        records.append(rec)
        prev, origin = digest, log
    checkpoints: list[tuple[int, str, bytes]] = []
    for j, line in enumerate(read_lines(cps, f"{what} checkpoints.log")):
        w = f"{what} checkpoint {j}"
        obj = parse_json(line, w)
        size, note = field(obj, "size", "int", w), field(obj, "note", "str", w)
        text, body = open_note(note, origin, key, w)
        n, root = parse_checkpoint(text, origin, w)
        need(size == n, f"{w}: size {size} is not the note's {n}")
        need(not checkpoints or n >= checkpoints[-1][0], f"{w}: size decreases")
        need(n <= len(leaves), f"{w}: size {n} exceeds the {len(leaves)} records")
        checkpoints.append((n, sha(body), root))
    need(checkpoints and checkpoints[-1][0] == len(leaves), f"{what}: an unsigned tail")
    roots = tree_roots(leaves, {c[0] for c in checkpoints})
    for j, (n, _, root) in enumerate(checkpoints):
        need(roots[n] == root, f"{what} checkpoint {j}: root is not the tree hash at {n}")
    return Log(platform, origin, leaves, records, [(n, c) for n, c, _ in checkpoints])


def check_rules(log: Log, root: Path, export: bool) -> None:  # R1-R5 (§9) and E1 (§7)
    allowed: dict[str, bool] = {}
    robots: dict[tuple[str, str], float] = {}
    bodies: set[str] = set()
    policies: set[str] = set()
    counts: dict[str, int] | None = None
    for i, rec in enumerate(log.records):
        w, kind = f"log {log.platform!r} record {i}", rec["type"]
        if "platform" in rec:
            value = rec["platform"]
            ok = value is None if log.platform == "_sites" else value == log.platform
            need(ok, f"{w}: platform is not the log's (R3)")
        if kind == "preflight":
            ev = field(rec, "evidence", "dict", w)
            if (body := field(ev, "sha256", "hex", w)) != EMPTY:
                bodies.add(body)
            if field(rec, "kind", "str", w) == "robots":
                url = field(ev, "robots_url", "str", w)
                robots[(url, body)] = field(ev, "fetched_at", "num", w)
        elif kind == "decision":
            url, verdict = field(rec, "url", "str", w), field(rec, "decision", "str", w)
            need(verdict in ("allow", "deny", "discard"), f"{w}: bad decision {verdict[:20]!r}")
            allowed[url] = verdict == "allow" or not field(rec, "enforced", "bool", w)
            kind = f"decision/{verdict}"
            ev = field(rec, "evidence", "dict", w, optional=True) or {}
            cited = field(ev, "robots", "dict", w, optional=True) or {}
            if (robots_sha := field(cited, "sha256", "hex", w, optional=True)) is not None:
                at = robots.get((field(cited, "robots_url", "str", w), robots_sha))
                need(at is not None, f"{w}: cites a robots.txt no earlier preflight holds (R2)")
                age = parse_ts(rec["ts"], w) - (at or 0.0)
                top = 691260 if cited.get("unreachable_since") is not None else 86460
                need(-60 <= age <= top, f"{w}: robots.txt age {age:.6g}s out of range (R2)")
            tos = field(ev, "tos", "dict", w, optional=True) or {}
            if (policy := field(tos, "policy_sha256", "hex", w, optional=True)) is not None:
                policies.add(policy)
        elif kind == "fetched":
            need(allowed.get(field(rec, "url", "str", w)), f"{w}: fetched, not allowed (R1)")
        elif kind == "run.end":
            said = field(rec, "counts", "dict", w)
            ok = said == counts and all(type(v) is int for v in said.values())
            need(ok, f"{w}: no run.start, or counts are not {counts} (R5)")
        if kind == "run.start":
            counts = {}
        if counts is not None:
            counts[kind] = counts.get(kind, 0) + 1
    folder, suffix = ("policies", ".toml") if export else ("evidence", "")
    cited = [(root / "evidence" / s, s) for s in bodies]
    for path, digest in sorted(cited + [(root / folder / (s + suffix), s) for s in policies]):
        need(sha(read(path, "E1")) == digest, f"{path.name}: bytes do not match the name (E1)")


def verify_heads(path: Path, key: bytes, logs: list[Log], directory: bool) -> list[str]:  # §5
    if not logs and not path.exists():
        return []
    bodies: list[str] = []
    for j, line in enumerate(read_lines(path, "heads.log")):
        w, obj = f"head {j}", parse_json(line, f"head {j}")
        need(field(obj, "n", "int", w) == j, f"{w}: n is not {j} (H2)")
        body = open_note(field(obj, "note", "str", w), None, key, w)[0]
        need(body.count("\n") >= 5, f"{w}: body has too few lines (H2)")
        name, number, prev, time, *commitments = body.split("\n")[:-1]
        first, last = (bodies[0], bodies[-1]) if bodies else (body, "")
        ok = name.endswith("/polite-crawl/head") and name == first.split("\n")[0]
        need(ok and number == str(j), f"{w}: bad head origin or number (H2)")
        need(prev == (sha(last.encode()) if j else ZERO), f"{w}: prev does not chain (H2)")
        ok = parse_ts(time, w) >= (parse_ts(last.split("\n")[3], w) if j else 0.0)
        need(ok, f"{w}: time earlier than the previous head's (H2)")
        ok = commitments == sorted(set(commitments)) and all(map(HEX64.fullmatch, commitments))
        need(ok, f"{w}: commitments not 64-hex in strictly ascending order (H2)")
        bodies.append(body)
    need(bodies, "heads.log: no head (H1)")
    heads = [body.split("\n")[4:-1] for body in bodies]
    for log in logs:
        sizes, held = {c: n for n, c in log.checkpoints}, -1
        for j, commitments in enumerate(heads):
            mine = [sizes[c] for c in commitments if c in sizes]
            bad = len(mine) > 1 or (held >= 0 and not mine) or (mine and mine[0] < held)
            need(not bad, f"head {j}: log {log.platform!r} dropped, doubled or shrank (H3)")
            held = mine[0] if mine else held
        need(log.checkpoints[-1][1] in heads[-1], f"last head lacks {log.platform!r}'s (H4)")
    if directory:
        known = {c for log in logs for _, c in log.checkpoints}
        for j, commitments in enumerate(heads):
            need(known.issuperset(commitments), f"head {j}: commits to a lost checkpoint (H5)")
    return bodies


def verify_directory(path: Path, key: bytes) -> tuple[Logs, list[str]]:
    logs: Logs = {}
    for d in sorted((path / "logs").iterdir()):
        need(d.is_dir(), f"logs/{d.name}: not a log directory")
        logs[d.name] = log = verify_log(d / "entries.jsonl", d / "checkpoints.log", d.name, key)
        check_rules(log, path, False)
    return logs, verify_heads(path / "heads.log", key, list(logs.values()), True)


def verify_export(path: Path, key: bytes) -> tuple[Log, list[str]]:
    w = "manifest"
    m = parse_json(read(path / "manifest.json", w), w)
    need(field(m, "format", "str", w) == "polite-crawl-audit-export/v1", f"{w}: format (M1)")
    files, paths = field(m, "files", "dict", w), list(path.rglob("*"))
    bad = [p.name for p in paths if p.is_symlink() or not (p.is_dir() or p.is_file())]
    need(not bad, f"export: {bad[:1]} is a link or not a regular file (M2)")
    body = open_note(read(path / "manifest.sig", "M0").decode(), None, key, "manifest.sig")[0]
    sig = body.split("\n")
    need(len(sig) == 3 and sig[0].endswith("/polite-crawl/export"), "manifest.sig: body (M0)")
    need(sig[1] == sha(read(path / "manifest.json", w)), "manifest.sig: not this manifest (M0)")
    present = {p.relative_to(path).as_posix() for p in paths if p.is_file()}
    present -= {"manifest.json", "manifest.sig"}
    diff = sorted(set(files) ^ present)[:3]
    need(not diff, f"{w}: files listed and files present differ at {diff} (M2)")
    for rel, digest in sorted(files.items()):
        need(sha(read(path / rel, rel)) == digest, f"{w}: SHA-256 of {rel} is wrong (M2)")
    need(field(m, "public_key", "str", w) == key.hex(), f"{w}: public_key is not the pinned (M4)")
    need(parse_public_key(read(path / "public.key", "M4")) == key, "public.key is not pinned (M4)")
    need(field(m, "fingerprint", "str", w) == sha(key), f"{w}: fingerprint is not the key's (M4)")
    platform = field(m, "platform", "str", w)
    need(platform and "/" not in platform, f"{w}: bad platform {platform[:40]!r} (M3)")
    log = verify_log(path / "entries.jsonl", path / "checkpoints.log", platform, key)
    need(field(m, "origin", "str", w) == log.origin, f"{w}: origin is not the log's (M3)")
    need(field(m, "records", "int", w) == len(log.records), f"{w}: records is wrong (M3)")
    check_rules(log, path, True)
    return log, verify_heads(path / "heads.log", key, [log], False)


def check_since(since: Path, key: bytes, logs: Logs, heads: list[str], export: str | None) -> None:
    obj, w = parse_json(read(since, "--since"), "--since"), "--since"
    need(field(obj, "format", "str", w) == "polite-crawl-checkpoints/v1", f"{w}: bad format")
    need(field(obj, "fingerprint", "str", w) == sha(key), f"{w}: fingerprint is not the key's")
    kept: dict[str, str] = {}
    for platform, note in field(obj, "checkpoints", "dict", w).items():
        need(isinstance(note, str), f"{w}: checkpoint of {platform[:40]!r} is not a note")
        kept[platform] = open_note(note, None, key, f"{w} {platform[:40]!r}")[0]  # S1
    head = field(obj, "head", "dict", w)
    number = field(head, "n", "int", f"{w} head")
    head_body = open_note(field(head, "note", "str", f"{w} head"), None, key, f"{w} head")[0]
    if export is not None:
        need(export in kept, f"{w}: holds no checkpoint of {export!r} (S2)")
        kept = {export: kept[export]}
    need(set(kept) <= set(logs), f"{w}: a kept platform has no log (S2)")
    for platform, body in sorted(kept.items()):
        log = logs[platform]
        size, root = parse_checkpoint(body, log.origin, f"{w} {platform!r}")
        need(size <= log.checkpoints[-1][0], f"{w}: log {platform!r} cut back below {size} (S3)")
        need(tree_roots(log.leaves, {size})[size] == root, f"{w}: {platform!r} forked (S3)")
    need(0 <= number < len(heads) and heads[number] == head_body, f"{w}: head {number} (S4)")


def verify(path: Path, public_key: bytes, since: Path | None = None) -> None:
    """Verify an audit directory or an export against the pinned raw 32-byte Ed25519 key."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key)
        export: str | None = None
        if (path / "manifest.json").exists():
            log, heads = verify_export(path, public_key)
            logs, export = {log.platform: log}, log.platform
        else:
            need((path / "logs").is_dir(), f"{path}: has neither manifest.json nor logs/")
            logs, heads = verify_directory(path, public_key)
        if since is not None:
            check_since(since, public_key, logs, heads, export)
    except (ValueError, TypeError, KeyError, ArithmeticError, RecursionError, OSError) as e:
        raise Invalid(f"malformed input ({type(e).__name__}: {str(e)[:80]})") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Verify a polite_crawl audit directory or export.")
    ap.add_argument("path", type=Path)
    pin = ap.add_mutually_exclusive_group(required=True)
    pin.add_argument("--key", type=Path, help="a public.key file (§6) obtained apart")
    pin.add_argument("--fingerprint", help="sha256:HEX, checked against PATH/public.key")
    ap.add_argument("--since", type=Path, help="a kept checkpoints file (§10)")
    args = ap.parse_args(argv)
    try:
        if args.key is not None:
            key = parse_public_key(read(args.key, "--key"), "--key")
        else:
            key = parse_public_key(read(args.path / "public.key", "public.key"))
            need(args.fingerprint.lower() == f"sha256:{sha(key)}", "public.key: wrong fingerprint")
        verify(args.path, key, args.since)
    except Invalid as e:
        print(f"INVALID: {e}")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
