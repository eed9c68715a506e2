"""Audit log write and verify throughput, and bytes per record.

    .venv/bin/python -m benchmarks.audit_throughput [--records 1000000] [--write 100000]

Write: decision records like a crawl's (robots.txt evidence, trace) appended to one platform log
with group commit (an fdatasync per batch of 64, as a busy reactor turn would), and with an
fdatasync per record (the worst case). Verify: `verify_path` on a directory holding a log of
--records records, the same work as `polite-crawl audit verify` (every log, the evidence, the
heads), and again with `--since` a checkpoint kept at half the log (the consistency proof needs
every leaf hash kept). Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from polite_crawl.audit.since import kept_file
from polite_crawl.audit.store import AuditStore
from polite_crawl.audit.whole import verify_path

NOW = time.time()
ROBOTS = "https://www.example-platform.com/robots.txt"
ROBOTS_BODY = b"User-agent: *\nDisallow: /private\n"
ROBOTS_SHA = hashlib.sha256(ROBOTS_BODY).hexdigest()
POLICY_BODY = b'id = "reddit"\n'
POLICY_SHA = hashlib.sha256(POLICY_BODY).hexdigest()


def decision(i: int) -> dict[str, Any]:
    return {
        "type": "decision",
        "url": f"https://www.example-platform.com/r/science/comments/{i}",
        "method": "GET",
        "platform": "reddit",
        "purposes": ["research"],
        "mode": "enforce",
        "enforced": True,
        "via": None,
        "decision": "allow",
        "reason": "robots.allowed",
        "evidence": {
            "tos": {"policy": "reddit", "policy_sha256": POLICY_SHA, "consent": {"grant": "g1"}},
            "robots": {
                "robots_url": ROBOTS,
                "sha256": ROBOTS_SHA,
                "status": 200,
                "group": "*",
                "rule": None,
            },
        },
        "trace": "scheme:pass tos:pass identity:pass requirements:pass robots:pass",
    }


def write(directory: Path, n: int, batch: int) -> tuple[float, int]:
    store = AuditStore(
        directory, contact="mailto:ops@example.org", checkpoint_every=1024, checkpoint_seconds=3600
    )
    store.run_start = {"purposes": ["research"]}
    store.citable = {POLICY_SHA: POLICY_BODY}
    store.keep_evidence(ROBOTS_BODY, ROBOTS_SHA)
    store.append(
        "reddit",
        {
            "type": "preflight",
            "kind": "robots",
            "url": ROBOTS,
            "evidence": {
                "robots_url": ROBOTS,
                "sha256": ROBOTS_SHA,
                "fetched_at": NOW,
                "status": 200,
            },
        },
    )
    t0 = time.perf_counter()
    for i in range(n):
        store.append("reddit", decision(i))
        if (i + 1) % batch == 0:
            store.sync()
            store.checkpoints_due()
    store.close({"reason": "finished"})
    seconds = time.perf_counter() - t0
    return n / seconds, (directory / "logs" / "reddit" / "entries.jsonl").stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--write", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        rate, size = write(Path(tmp) / "grouped", args.write, 64)
        print(
            f"write, fdatasync per 64 records: {rate:,.0f} records/s, "
            f"{size / (args.write + 3):,.0f} bytes/record"
        )
        rate1, _ = write(Path(tmp) / "each", 5_000, 1)
        print(f"write, fdatasync per record:     {rate1:,.0f} records/s")
        big = Path(tmp) / "big"
        t0 = time.perf_counter()
        write(big, args.records, 4096)
        print(f"(built a {args.records:,}-record log in {time.perf_counter() - t0:.0f} s)")
        kept = Path(tmp) / "kept.json"
        _keep_half(big, kept)
        for since in (None, kept):
            t0 = time.perf_counter()
            reports, _ = verify_path(big, None, None, since=since)
            seconds = time.perf_counter() - t0
            report = reports[0]
            print(
                f"verify{' --since' if since else ''}: {report.records:,} records in "
                f"{seconds:.1f} s = {report.records / seconds:,.0f} records/s "
                f"({report.checkpoints} checkpoints)"
            )


def _keep_half(audit: Path, out: Path) -> None:
    """A kept-checkpoints file as a platform would have kept it at about half the log."""
    checkpoints = (audit / "logs" / "reddit" / "checkpoints.log").read_bytes().splitlines()
    heads = (audit / "heads.log").read_bytes().splitlines()
    kept = kept_file(audit, {}, bytes(32))
    kept["checkpoints"] = {"reddit": json.loads(checkpoints[len(checkpoints) // 2])["note"]}
    kept["head"] = json.loads(heads[len(heads) // 2])
    out.write_text(json.dumps(kept))


if __name__ == "__main__":
    main()
