"""A plain JSONL decision log: one object per line, written before the request goes on.

This is the first slice of the audit log (issue 6 adds the hash chain, per-platform logs,
signed checkpoints and group-commit durability). Record keys follow DESIGN.md §4.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from polite_crawl.audit.redact import redact_url

if TYPE_CHECKING:
    from pathlib import Path

    from polite_crawl.core.context import RequestContext
    from polite_crawl.core.decision import Decision

LOG_NAME = "decisions.jsonl"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AuditWriter:
    def __init__(self, directory: Path, *, mode: str) -> None:
        self.path = directory / LOG_NAME
        self.mode = mode
        self._seq = 0
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def _write(self, record: dict[str, Any]) -> None:
        self._seq += 1
        line = {"seq": self._seq, "ts": _now(), **record}
        self._fh.write(json.dumps(line, separators=(",", ":"), sort_keys=False) + "\n")
        self._fh.flush()

    def run(self, event: str, **details: Any) -> None:
        self._write({"type": f"run.{event}", **details})

    def decision(self, ctx: RequestContext, decision: Decision, *, enforced: bool) -> None:
        self._write(
            {
                "type": "decision",
                "url": redact_url(ctx.url),
                "method": ctx.method,
                "platform": ctx.platform.id if ctx.platform else None,
                "purposes": sorted(p.value for p in ctx.purposes),
                "mode": self.mode,
                "enforced": enforced,
                "via": redact_url(ctx.via) if ctx.via else None,
                **decision.to_record(),
            }
        )

    def preflight(self, kind: str, url: str, evidence: dict[str, Any]) -> None:
        self._write(
            {"type": "preflight", "kind": kind, "url": redact_url(url), "evidence": evidence}
        )

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
