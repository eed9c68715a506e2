"""Checkpoints a platform keeps, and the check that a log today extends them (docs/format.md
§10): `audit checkpoints DIR -o FILE` and `audit verify DIR --since FILE`.

Heads show a log cut back while the others were kept; only a checkpoint someone else kept shows
a whole directory rolled back, or a log that forked (rewritten and re-signed by the key holder).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from polite_crawl.audit import keys
from polite_crawl.audit.heads import HEADS, open_head
from polite_crawl.audit.logfile import CHECKPOINTS
from polite_crawl.audit.merkle import consistency_proof, verify_consistency
from polite_crawl.audit.note import Checkpoint, NoteError, note_text, open_note
from polite_crawl.audit.verify import Invalid

if TYPE_CHECKING:
    from pathlib import Path

    from polite_crawl.audit.heads import Head
    from polite_crawl.audit.verify import LogReport

FORMAT = "polite-crawl-checkpoints/v1"


def _last_line(path: Path) -> dict[str, Any]:
    try:
        lines = path.read_bytes().splitlines()
        entry = json.loads(lines[-1])
    except (OSError, ValueError, IndexError, RecursionError) as exc:
        raise Invalid(str(path), f"no readable last line ({exc})") from None
    if not isinstance(entry, dict) or not isinstance(entry.get("note"), str):
        raise Invalid(str(path), "the last line is not a signed note")
    return entry


def kept_file(heads_dir: Path, dirs: dict[str, Path], public: bytes) -> dict[str, Any]:
    """The latest checkpoint of each log in dirs, and the latest head, as a platform keeps them.
    They are copied as signed, not re-signed: run `audit verify` first to know they check out."""
    head = _last_line(heads_dir / HEADS)
    return {
        "format": FORMAT,
        "fingerprint": keys.fingerprint(public),
        "head": {"n": head.get("n"), "note": head["note"]},
        "checkpoints": {
            name: _last_line(directory / CHECKPOINTS)["note"]
            for name, directory in sorted(dirs.items())
        },
    }


class Kept:
    """A kept-checkpoints file, every note opened against the pinned key (S1)."""

    def __init__(self, path: Path, public: bytes) -> None:
        self.path = path
        where = str(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:  # UnicodeError is a ValueError
            raise Invalid(where, f"not a kept-checkpoints file ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise Invalid(where, f"not a {FORMAT} file")
        checkpoints, head = data.get("checkpoints"), data.get("head")
        if not isinstance(checkpoints, dict) or not isinstance(head, dict):
            raise Invalid(where, "no checkpoints or no head")
        self.checkpoints: dict[str, Checkpoint] = {}
        try:
            for name, note in checkpoints.items():
                origin = note_text(str(note)).split("\n", 1)[0]
                checkpoint = open_note(str(note), origin, public)
                if not origin.endswith(f"/polite-crawl/{name}"):
                    raise NoteError(f"the checkpoint of {origin!r} is filed as {name!r}")
                self.checkpoints[str(name)] = checkpoint
            self.head: Head = open_head(str(head.get("note")), public)
        except NoteError as exc:
            raise Invalid(
                where,
                f"{exc}: the kept checkpoints are not signed by this key (the key was "
                "replaced, or the file altered)",
            ) from None
        except (ValueError, TypeError) as exc:  # a lone surrogate cannot even be encoded
            raise Invalid(where, f"not a kept-checkpoints file ({exc})") from None


def check_since(
    kept: Kept, reports: dict[str, LogReport], heads: list[Head], *, export: str | None
) -> None:
    """S2-S4: every kept log is here and extends what was kept; the kept head is still head k."""
    where = str(kept.path)
    wanted = kept.checkpoints
    if export is not None:
        wanted = {k: v for k, v in wanted.items() if k == export}
        if not wanted:
            raise Invalid(where, f"holds no checkpoint of {export!r}, the platform of this export")
    for name, old in sorted(wanted.items()):
        report = reports.get(name)
        if report is None:
            raise Invalid(where, f"the log of {name!r} is gone: it was deleted since it was kept")
        _extends(where, old, report)
    k = kept.head.n
    if k >= len(heads) or heads[k].body() != kept.head.body():
        raise Invalid(
            where,
            f"head {k} here differs from the one kept (or is gone): heads were rewritten or "
            "cut back since",
        )


def _extends(where: str, old: Checkpoint, report: LogReport) -> None:
    size, _, root = report.signed[-1] if report.signed else (0, "", b"")
    if old.origin != report.origin:
        raise Invalid(where, f"a checkpoint of {old.origin!r}, not of {report.origin!r}")
    if old.size > size:
        raise Invalid(
            where,
            f"{report.platform} signs {size} records but {old.size} were kept: the log was cut "
            "back since",
        )
    leaves = report.leaves or []
    proof = consistency_proof(leaves[:size], old.size) if old.size else []
    if not verify_consistency(old.size, size, old.root, root, proof):
        raise Invalid(
            where,
            f"{report.platform}'s first {old.size} records no longer hash to the root that was "
            "kept: the log forked (rewritten and re-signed) since",
        )
