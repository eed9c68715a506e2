"""The worked example of docs/format.md §11: a six-record log written by the real AuditStore with a
fixed key and clock, and every value the text shows, computed from it. tests/test_format_spec.py
checks the text against these values; after a deliberate format change, rewrite them with

    python -m polite_crawl.testing.format_example --write docs/format.md
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from polite_crawl.audit import keys, note
from polite_crawl.audit.heads import HEADS
from polite_crawl.audit.logfile import CHECKPOINTS, ENTRIES
from polite_crawl.audit.merkle import consistency_proof, leaf_hash, tree_root
from polite_crawl.audit.store import AuditStore

if TYPE_CHECKING:
    from collections.abc import Callable

SEED = b"\x01" * 32
START = 1796515200.0  # 2026-12-06T00:00:00Z
ROBOTS = b"User-agent: *\nDisallow: /private\n"
SITE = "https://www.example.com"
PLATFORM = "example"


def _clock() -> Callable[[], float]:
    """A clock a quarter of a second later at every reading: the same times on every run."""
    ticks = iter(range(1_000_000))
    return lambda: START + next(ticks) * 0.25


def write_example(directory: Path) -> Path:
    """An audit directory holding the example log; returns the log's directory."""
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.from_private_bytes(SEED)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (directory / keys.KEY_FILE).write_bytes(pem)
    public = key.public_key().public_bytes_raw()
    (directory / keys.PUBLIC_FILE).write_text(
        f"ed25519 {public.hex()}\nfingerprint sha256:{keys.fingerprint(public)}\n"
    )
    clock = _clock()
    store = AuditStore(
        directory, contact="mailto:ops@crawler.example", clock=clock, checkpoint_every=1 << 20
    )
    store.run_start = {"purposes": ["search-indexing"], "token": "examplebot", "mode": "enforce"}
    sha = hashlib.sha256(ROBOTS).hexdigest()
    store.keep_evidence(ROBOTS, sha)
    robots_url = f"{SITE}/robots.txt"
    store.append(
        PLATFORM,
        {
            "type": "preflight",
            "kind": "robots",
            "url": robots_url,
            "evidence": {
                "robots_url": robots_url,
                "final_url": robots_url,
                "status": 200,
                "sha256": sha,
                "fetched_at": START,
                "state": "fresh",
            },
        },
    )
    for path, verdict in (("/page", "allow"), ("/private/x", "deny")):
        store.append(
            PLATFORM,
            {
                "type": "decision",
                "url": SITE + path,
                "method": "GET",
                "platform": PLATFORM,
                "decision": verdict,
                "enforced": True,
                "reason": "robots.allowed" if verdict == "allow" else "robots.disallowed",
                "evidence": {"robots": {"robots_url": robots_url, "sha256": sha, "status": 200}},
            },
        )
        if verdict == "allow":
            store.append(PLATFORM, {"type": "fetched", "url": SITE + path, "status": 200})
    store.close({"reason": "finished"})
    return directory / "logs" / PLATFORM


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def vectors(directory: Path) -> dict[str, str]:
    """name -> the text of the block that follows `<!-- vector: name -->` in docs/format.md."""
    log = write_example(directory)
    lines = (log / ENTRIES).read_bytes().split(b"\n")[:-1]
    public = keys.read_public(directory / keys.PUBLIC_FILE)
    first = lines[0]
    body = first[:-75] + b"}"
    leaves = [leaf_hash(line) for line in lines]
    out: dict[str, str] = {}
    origin = json.loads(first)["log"]
    out["public.key"] = (
        (directory / keys.PUBLIC_FILE).read_text()
        + f"\nkey id for the key name {origin}: {note.key_id(origin, public).hex()}\n"
        + f"verifier key: {note.verifier_key(origin, public)}\n"
    )
    out["line0"] = (
        f"L = {first.decode()}\n\nB = {body.decode()}\n\n"
        f"SHA-256(B) = {hashlib.sha256(body).hexdigest()}\n"
        f"leaf hash  = SHA-256(0x00 || L) = {leaves[0].hex()}\n"
    )
    out["entries.jsonl"] = (log / ENTRIES).read_text()
    tree = [f"leaf {i}: {h.hex()}" for i, h in enumerate(leaves)]
    tree += [
        f"MTH(D[{n}]) = {tree_root(lines[:n]).hex()} = {_b64(tree_root(lines[:n]))}"
        for n in range(1, len(lines) + 1)
    ]
    out["tree"] = "\n".join(tree) + "\n"
    cp_line = (log / CHECKPOINTS).read_text()
    signed = json.loads(cp_line)["note"]
    cp_body = note.note_text(signed)
    out["checkpoint"] = (
        f"body:\n{cp_body}\ncommitment: {note.commitment(cp_body)}\n"
        f"key id: {note.key_id(origin, public).hex()}\n\nsigned note:\n{signed}\n"
        f"checkpoints.log line:\n{cp_line}"
    )
    head_line = (directory / HEADS).read_text()
    head_note = json.loads(head_line)["note"]
    head_name = head_note.split("\n", 1)[0]
    out["head"] = (
        f"signed note (key name {head_name}, key id "
        f"{note.key_id(head_name, public).hex()}):\n{head_note}\nheads.log line:\n{head_line}"
    )
    proof = consistency_proof(leaves, 4)
    out["consistency"] = (
        f"MTH(D[4]) = {tree_root(lines[:4]).hex()}\nMTH(D[6]) = {tree_root(lines).hex()}\n"
        + "".join(f"proof[{i}] = {h.hex()}\n" for i, h in enumerate(proof))
    )
    return out


BLOCK = re.compile(r"<!-- vector: (?P<name>[\w.]+) -->\n```text\n(?P<text>.*?)```", re.S)


def rewrite(document: str, values: dict[str, str]) -> str:
    return BLOCK.sub(
        lambda m: f"<!-- vector: {m['name']} -->\n```text\n{values[m['name']]}```", document
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, metavar="FORMAT_MD")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        values = vectors(Path(tmp) / "audit")
    if args.write is None:
        for name, text in values.items():
            print(f"== {name}\n{text}")
        return
    args.write.write_text(rewrite(args.write.read_text(), values))


if __name__ == "__main__":
    main()
