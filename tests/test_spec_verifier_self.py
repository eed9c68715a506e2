"""Self-tests of spec_verifier.py: logs, directories and exports built from FORMAT.md alone."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import shutil
from typing import TYPE_CHECKING, Any

import pytest
import spec_verifier as sv
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

if TYPE_CHECKING:
    from pathlib import Path

OPERATOR = "crawler.example"
ZERO = "0" * 64
ROBOTS = b"User-agent: *\nDisallow: /private\n"
POLICY = b'id = "twitter"\nhosts = ["twitter.com", "x.com"]\n'
ROBOTS_URL = "https://twitter.com/robots.txt"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def ts(i: int) -> str:
    return f"2026-12-06T02:20:{i:02d}.123456Z"


def posix(text: str) -> float:
    when = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return (when - dt.datetime(1970, 1, 1)).total_seconds()


def canonical(obj: Any) -> str:
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1, recursively (independent of the verifier's stack version)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


class Signer:
    def __init__(self, seed: bytes = b"\x01" * 32) -> None:
        self.sk = Ed25519PrivateKey.from_private_bytes(seed)
        self.pk = self.sk.public_key().public_bytes_raw()

    def note(self, body: str, name: str) -> str:
        key_id = hashlib.sha256(name.encode() + b"\n\x01" + self.pk).digest()[:4]
        return f"{body}\n\u2014 {name} {b64(key_id + self.sk.sign(body.encode()))}\n"

    def public_key_file(self) -> str:
        return f"ed25519 {self.pk.hex()}\nfingerprint sha256:{sha(self.pk)}\n"


SIGNER = Signer()


def twitter_records() -> list[dict[str, Any]]:
    robots = {"robots_url": ROBOTS_URL, "sha256": sha(ROBOTS)}
    ev = {"robots": robots, "tos": {"policy_sha256": sha(POLICY)}}
    return [
        {"type": "run.start", "policies": {"twitter": sha(POLICY)}},
        {
            "type": "preflight",
            "kind": "robots",
            "url": ROBOTS_URL,
            "evidence": {
                "sha256": sha(ROBOTS),
                "robots_url": ROBOTS_URL,
                "fetched_at": posix(ts(1)),
            },
        },
        {"type": "preflight", "kind": "tdmrep", "evidence": {"sha256": sha(b"")}},
        {"type": "decision", "url": "https://twitter.com/a", "platform": "twitter"}
        | {"decision": "allow", "enforced": True, "evidence": ev},
        {"type": "fetched", "url": "https://twitter.com/a"},
        {"type": "decision", "url": "https://twitter.com/private", "platform": "twitter"}
        | {"decision": "deny", "enforced": False, "evidence": ev},
        {"type": "fetched", "url": "https://twitter.com/private"},
        {"type": "item.dropped", "platform": "twitter", "reason": "noai"},
        {"type": "custom.future", "note": "caf\u00e9"},
        {"type": "run.end", "counts": TWITTER_COUNTS},
    ]


TWITTER_COUNTS = {
    "run.start": 1,
    "preflight": 2,
    "decision/allow": 1,
    "fetched": 2,
    "decision/deny": 1,
    "item.dropped": 1,
    "custom.future": 1,
}


def sites_records() -> list[dict[str, Any]]:
    return [
        {"type": "run.start", "policies": {}},
        {"type": "decision", "url": "https://blog.example/x", "platform": None}
        | {"decision": "allow", "enforced": True, "evidence": {}},
        {"type": "fetched", "url": "https://blog.example/x"},
        {"type": "run.end", "counts": {"run.start": 1, "decision/allow": 1, "fetched": 1}},
    ]


def build_log(platform: str, records: list[dict[str, Any]], sizes: list[int]) -> dict[str, Any]:
    origin = f"{OPERATOR}/polite-crawl/{platform}"
    lines, prev = [], ZERO
    for i, fields in enumerate(records):
        body = canonical({"v": 1, "log": origin, "seq": i, "prev": prev, "ts": ts(i)} | fields)
        prev = sha(body.encode())
        lines.append(body[:-1] + f',"hash":"{prev}"' + "}")
    leaves = [x.encode() for x in lines]
    cps = []
    for n in sizes:
        body = f"{origin}\n{n}\n{b64(mth(leaves[:n]))}\n"
        cps.append(
            {"size": n, "note": SIGNER.note(body, origin), "commitment": sha(body.encode())}
        )
    return {"origin": origin, "lines": lines, "cps": cps}


def heads_lines(rounds: list[list[str]]) -> list[str]:
    out, prev = [], ZERO
    for n, commitments in enumerate(rounds):
        name = f"{OPERATOR}/polite-crawl/head"
        body = f"{name}\n{n}\n{prev}\n{ts(30 + n)}\n" + "".join(
            c + "\n" for c in sorted(commitments)
        )
        out.append(json.dumps({"n": n, "note": SIGNER.note(body, name)}))
        prev = sha(body.encode())
    return out


def write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)


def write_lines(path: Path, lines: list[str]) -> None:
    write(path, "".join(x + "\n" for x in lines))


def make_dir(root: Path, twitter: list[dict[str, Any]] | None = None) -> Path:
    logs = {
        "twitter": build_log("twitter", twitter or twitter_records(), [4, 10]),
        "_sites": build_log("_sites", sites_records(), [4]),
    }
    for platform, log in logs.items():
        write_lines(root / "logs" / platform / "entries.jsonl", log["lines"])
        cps = [json.dumps({"size": c["size"], "note": c["note"]}) for c in log["cps"]]
        write_lines(root / "logs" / platform / "checkpoints.log", cps)
    rounds = []  # head r holds each log's checkpoint r, or its last one
    for r in range(2):
        rounds.append(
            [log["cps"][min(r, len(log["cps"]) - 1)]["commitment"] for log in logs.values()]
        )
    write_lines(root / "heads.log", heads_lines(rounds))
    write(root / "public.key", SIGNER.public_key_file())
    write(root / "signing.key", b"secret")
    for blob in (ROBOTS, POLICY):
        write(root / "evidence" / sha(blob), blob)
    return root


def make_export(directory: Path, out: Path, platform: str = "twitter") -> Path:
    for name in ("entries.jsonl", "checkpoints.log"):
        write(out / name, (directory / "logs" / platform / name).read_bytes())
    for name in ("heads.log", "public.key"):
        write(out / name, (directory / name).read_bytes())
    write(out / "evidence" / sha(ROBOTS), ROBOTS)
    write(out / "policies" / f"{sha(POLICY)}.toml", POLICY)
    write(out / "FORMAT.md", "# spec\n")
    write(out / "README.md", "# export\n")
    write_manifest(out, platform)
    return out


def write_manifest(out: Path, platform: str = "twitter", **changes: Any) -> None:
    files = {
        p.relative_to(out).as_posix(): sha(p.read_bytes())
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name not in ("manifest.json", "manifest.sig")
    }
    records = len((out / "entries.jsonl").read_bytes().splitlines())
    manifest = {
        "files": files,
        "fingerprint": sha(SIGNER.pk),
        "format": "polite-crawl-audit-export/v1",
        "origin": f"{OPERATOR}/polite-crawl/{platform}",
        "platform": platform,
        "public_key": SIGNER.pk.hex(),
        "records": records,
    } | changes
    write(out / "manifest.json", json.dumps(manifest, indent=2))
    sign_manifest(out)


def sign_manifest(out: Path) -> None:
    """M0: the operator signs the manifest's sha256."""
    name = f"{OPERATOR}/polite-crawl/export"
    digest = sha((out / "manifest.json").read_bytes())
    write(out / "manifest.sig", SIGNER.note(f"{name}\n{digest}\n", name))


def kept(root: Path, platforms: list[str], logs_dir: bool = True) -> dict[str, Any]:
    """What `audit checkpoints` keeps: the last checkpoint of each log, and the last head."""
    cps = {}
    for p in platforms:
        base = root / "logs" / p if logs_dir else root
        cps[p] = json.loads((base / "checkpoints.log").read_text().splitlines()[-1])["note"]
    head = json.loads((root / "heads.log").read_text().splitlines()[-1])
    return {
        "checkpoints": cps,
        "fingerprint": sha(SIGNER.pk),
        "format": "polite-crawl-checkpoints/v1",
        "head": head,
    }


def invalid(
    path: Path, match: str | None = None, since: Path | None = None, key: bytes = SIGNER.pk
) -> None:
    with pytest.raises(sv.Invalid, match=match) as caught:
        sv.verify(path, key, since)
    print("INVALID:", caught.value)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return make_dir(tmp_path / "audit")


@pytest.fixture
def export(directory: Path, tmp_path: Path) -> Path:
    return make_export(directory, tmp_path / "export")


def edit_lines(path: Path, edit: Any) -> None:
    lines = path.read_bytes().split(b"\n")[:-1]
    write(path, b"".join(x + b"\n" for x in edit(lines)))


# ---------------------------------------------------------------- valid inputs


def test_merkle_matches_recursive_definition() -> None:
    leaves = [bytes([i]) * i for i in range(20)]
    roots = sv.tree_roots(leaves, set(range(21)))
    assert all(roots[n] == mth(leaves[:n]) for n in range(21))


def test_valid_directory_and_export(directory: Path, export: Path) -> None:
    sv.verify(directory, SIGNER.pk)
    sv.verify(export, SIGNER.pk)


def test_cli(directory: Path, export: Path, tmp_path: Path, capsys: Any) -> None:
    fingerprint = f"sha256:{sha(SIGNER.pk)}"
    assert sv.main([str(directory), "--fingerprint", fingerprint]) == 0
    assert sv.main([str(export), "--key", str(directory / "public.key")]) == 0
    assert capsys.readouterr().out == "ok\nok\n"
    assert sv.main([str(export), "--fingerprint", "sha256:" + "0" * 64]) == 1
    assert capsys.readouterr().out.startswith("INVALID: ")


def test_unknown_signers_are_ignored(directory: Path) -> None:
    other = Signer(b"\x02" * 32)

    def cosign(lines: list[bytes]) -> list[bytes]:
        out = []
        for line in lines:
            obj = json.loads(line)
            body, _, sigs = obj["note"].partition("\n\n")
            origin = body.split("\n")[0]
            extra = other.note(body + "\n", origin).split("\n\n")[1]  # same name, other key id
            obj["note"] = (
                f"{body}\n\n\u2014 witness.example {b64(b'1234' + bytes(64))}\n{extra}{sigs}"
            )
            out.append(json.dumps(obj).encode())
        return out

    edit_lines(directory / "logs" / "twitter" / "checkpoints.log", cosign)
    edit_lines(directory / "heads.log", cosign)
    sv.verify(directory, SIGNER.pk)


def test_since(directory: Path, export: Path, tmp_path: Path) -> None:
    write(tmp_path / "kept.json", json.dumps(kept(directory, ["twitter", "_sites"])))
    sv.verify(directory, SIGNER.pk, tmp_path / "kept.json")
    write(tmp_path / "one.json", json.dumps(kept(export, ["twitter"], logs_dir=False)))
    sv.verify(export, SIGNER.pk, tmp_path / "one.json")
    sv.verify(directory, SIGNER.pk, tmp_path / "one.json")


# ---------------------------------------------------------------- tampering


def test_wrong_key(directory: Path, export: Path) -> None:
    invalid(directory, "signature", key=Signer(b"\x03" * 32).pk)
    invalid(export, "manifest.sig", key=Signer(b"\x03" * 32).pk)  # M0 comes first


def test_flipped_byte(directory: Path, export: Path) -> None:
    for path in (directory / "logs" / "twitter" / "entries.jsonl", export / "entries.jsonl"):
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    invalid(directory)
    invalid(export, "M2")  # the manifest hash fails first
    write_manifest(export)
    invalid(export)


def test_deleted_record(directory: Path) -> None:
    edit_lines(directory / "logs" / "twitter" / "entries.jsonl", lambda x: x[:5] + x[6:])
    invalid(directory, "seq")


def test_cut_back_log_and_checkpoints(directory: Path, tmp_path: Path) -> None:
    write(tmp_path / "kept.json", json.dumps(kept(directory, ["twitter", "_sites"])))
    edit_lines(directory / "logs" / "twitter" / "entries.jsonl", lambda x: x[:4])
    edit_lines(directory / "logs" / "twitter" / "checkpoints.log", lambda x: x[:1])
    invalid(directory, "H3")  # the last head drops the log
    # Cutting the heads back too gives a consistent earlier state; only a kept checkpoint shows it.
    edit_lines(directory / "heads.log", lambda x: x[:1])
    sv.verify(directory, SIGNER.pk)
    invalid(directory, "S3", since=tmp_path / "kept.json")


def test_unsigned_tail(directory: Path) -> None:
    edit_lines(directory / "logs" / "twitter" / "checkpoints.log", lambda x: x[:1])
    invalid(directory, "unsigned")


def test_deleted_log_directory(directory: Path, tmp_path: Path) -> None:
    write(tmp_path / "kept.json", json.dumps(kept(directory, ["twitter", "_sites"])))
    shutil.rmtree(directory / "logs" / "_sites")
    invalid(directory, "H5")
    invalid(directory, since=tmp_path / "kept.json")


def test_rewritten_policy_file(directory: Path, export: Path) -> None:
    write(directory / "evidence" / sha(POLICY), POLICY + b"# more\n")
    invalid(directory, "E1")
    write(export / "policies" / f"{sha(POLICY)}.toml", POLICY + b"# more\n")
    invalid(export, "M2")
    write_manifest(export)
    invalid(export, "E1")


def test_missing_evidence(directory: Path, export: Path) -> None:
    (directory / "evidence" / sha(ROBOTS)).unlink()
    invalid(directory, "E1")
    (export / "policies" / f"{sha(POLICY)}.toml").unlink()
    write_manifest(export)
    invalid(export, "E1")


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("format", "polite-crawl-audit-export/v2", "M1"),
        ("records", 9, "M3"),
        ("records", True, "records"),
        ("origin", "evil.example/polite-crawl/twitter", "M3"),
        ("platform", "reddit", "origin"),
        ("fingerprint", "0" * 64, "M4"),
        ("public_key", "0" * 64, "M4"),
        ("files", {}, "M2"),
    ],
)
def test_manifest_field_edited(export: Path, field: str, value: Any, rule: str) -> None:
    write_manifest(export, **{field: value})
    invalid(export, rule)


def test_unlisted_file_in_export(export: Path) -> None:
    write(export / "evidence" / "extra", b"x")
    invalid(export, "M2")


def test_wrong_platform_field(tmp_path: Path) -> None:
    records = twitter_records()
    records[7] = {"type": "item.dropped", "platform": "reddit"}
    invalid(make_dir(tmp_path / "a", records), "R3")
    records[7] = {"type": "item.dropped", "platform": None}
    invalid(make_dir(tmp_path / "b", records), "R3")


def test_wrong_run_end_counts(tmp_path: Path) -> None:
    for change in ({"fetched": 1}, {"fetched": 2.0}, {"decision": 2}, {"zero": 0}):
        records = twitter_records()
        records[-1] = {"type": "run.end", "counts": TWITTER_COUNTS | change}
        invalid(make_dir(tmp_path / str(len(list(tmp_path.iterdir()))), records), "R5")


def test_fetched_without_allowing_decision(tmp_path: Path) -> None:
    records = twitter_records()
    records[5] = records[5] | {"enforced": True}  # an enforced deny: the fetch is not allowed
    invalid(make_dir(tmp_path / "a", records), "R1")


def test_stale_robots(tmp_path: Path) -> None:
    records = twitter_records()
    records[1]["evidence"]["fetched_at"] = posix(ts(1)) - 86_500
    invalid(make_dir(tmp_path / "a", records), "R2")
    records[1]["evidence"]["robots_url"] = "https://x.com/robots.txt"
    invalid(make_dir(tmp_path / "b", records), "R2")


def test_torn_tails(directory: Path) -> None:
    for name in ("logs/twitter/entries.jsonl", "logs/twitter/checkpoints.log", "heads.log"):
        path = directory / name
        original = path.read_bytes()
        path.write_bytes(original + b'{"v":1')
        invalid(directory, "torn")
        path.write_bytes(original[:-1])
        invalid(directory, "torn")
        path.write_bytes(original)
    sv.verify(directory, SIGNER.pk)


def test_carriage_return(directory: Path) -> None:
    path = directory / "logs" / "twitter" / "entries.jsonl"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n", 1))
    invalid(directory, "carriage")


def test_bad_signature_by_the_key_is_invalid(directory: Path) -> None:
    def corrupt(lines: list[bytes]) -> list[bytes]:
        obj = json.loads(lines[0])
        body = obj["note"].split("\n\n")[0] + "\n"
        obj["note"] = obj["note"].replace(body, body.replace("\n4\n", "\n5\n"))
        return [json.dumps(obj).encode(), *lines[1:]]

    edit_lines(directory / "logs" / "twitter" / "checkpoints.log", corrupt)
    invalid(directory, "does not verify")


def test_since_rejects_rewritten_head_and_other_key(directory: Path, tmp_path: Path) -> None:
    file = kept(directory, ["twitter"])
    file["head"]["n"] = 0
    write(tmp_path / "k.json", json.dumps(file))
    invalid(directory, "S4", since=tmp_path / "k.json")
    other = Signer(b"\x04" * 32)
    file = kept(directory, ["twitter"])
    body = file["checkpoints"]["twitter"].split("\n\n")[0] + "\n"
    file["checkpoints"]["twitter"] = other.note(body, body.split("\n")[0])
    write(tmp_path / "k.json", json.dumps(file))
    invalid(directory, "no signature", since=tmp_path / "k.json")
    file = kept(directory, ["twitter"])
    file["checkpoints"]["twitter"] = file["checkpoints"]["twitter"].replace("\u2014", "-")
    write(tmp_path / "k.json", json.dumps(file))
    invalid(directory, "malformed signature", since=tmp_path / "k.json")
    origin = f"{OPERATOR}/polite-crawl/reddit"
    file["checkpoints"] = {"reddit": SIGNER.note(f"{origin}\n1\n{b64(bytes(32))}\n", origin)}
    write(tmp_path / "k.json", json.dumps(file))
    invalid(directory, "S2", since=tmp_path / "k.json")


# ---------------------------------------------------------------- untrusted bytes


@pytest.mark.parametrize(
    "manifest",
    [
        b"\xff\xfe not utf-8",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"records": ' + b"9" * 5000 + b"}",
        b'{"records": 1e999}',
        b'{"records": NaN}',
        b'{"format": "polite-crawl-audit-export/v1", "format": "x"}',
        b'"just a string"',
        b'{"format": "polite-crawl-audit-export/v1", "files": []}',
        b"",
    ],
)
def test_malformed_manifest(export: Path, manifest: bytes) -> None:
    write(export / "manifest.json", manifest)
    invalid(export)


@pytest.mark.parametrize(
    "line",
    [
        b"{" + b'"a":' * 1 + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"v":1,"seq":' + b"1" * 5000 + b"}",
        b'{"v":1,"seq":0,"x":"\xff"}',
        b"[1,2,3]",
        b'{"seq":0,"v":true}',
    ],
)
def test_malformed_record_with_valid_hash(directory: Path, line: bytes) -> None:
    spliced = line[:-1] + b',"hash":"' + sha(line).encode() + b'"}'
    write(directory / "logs" / "twitter" / "entries.jsonl", spliced + b"\n")
    invalid(directory)


@pytest.mark.parametrize(
    "line",
    [
        b'{"size":' + b"9" * 5000 + b',"note":"x"}',
        b'{"size":4,"note":"x\\n\\n\\u2014 a !!!\\n"}',
        b'{"size":4,"note":"\\ud800\\n\\n\\u2014 a b\\n"}',
        b'{"size":4,"note":null}',
        b"\xc3\x28",
    ],
)
def test_malformed_checkpoints(directory: Path, line: bytes) -> None:
    write(directory / "logs" / "twitter" / "checkpoints.log", line + b"\n")
    invalid(directory)


def test_not_an_audit_directory(tmp_path: Path) -> None:
    invalid(tmp_path / "missing")
    invalid(tmp_path)
    with pytest.raises(sv.Invalid):
        sv.verify(tmp_path, b"short")


def test_link_in_export(export: Path) -> None:
    (export / "README.md").unlink()
    (export / "README.md").symlink_to(export / "FORMAT.md")
    write_manifest(export)
    invalid(export, "link")


def test_head_removed_from_the_middle(directory: Path) -> None:
    edit_lines(directory / "heads.log", lambda x: x[1:])
    invalid(directory, "H2")


def test_heads_missing(directory: Path, export: Path) -> None:
    (directory / "heads.log").unlink()
    invalid(directory, "heads.log")
    write(export / "heads.log", b"")
    write_manifest(export)
    invalid(export, "H1")


def test_huge_numbers_in_records(tmp_path: Path) -> None:
    records = twitter_records()
    records[1]["evidence"]["fetched_at"] = 10**400
    invalid(make_dir(tmp_path / "a", records))
    records[1]["evidence"]["fetched_at"] = 1e308
    invalid(make_dir(tmp_path / "b", records), "R2")
