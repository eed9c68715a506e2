"""`polite-crawl audit verify PATH`: recompute everything from the bytes.

For each log: every line's own hash, the chain (`prev`), the sequence, the log's identity
(its origin must name the directory it sits in), the Merkle root at every signed checkpoint,
each checkpoint's Ed25519 signature against the pinned public key, and the semantic rules
(nothing fetched after an enforced refusal; every robots.txt a decision cites was fetched,
recorded, and at most 24 hours old). The first problem found is reported as file:line.
"""

from __future__ import annotations

import datetime
import json
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from polite_crawl.audit.logfile import CHECKPOINTS, ENTRIES
from polite_crawl.audit.merkle import Frontier
from polite_crawl.audit.note import NoteError, open_note
from polite_crawl.audit.record import GENESIS, RecordError, decode

if TYPE_CHECKING:
    from pathlib import Path

MAX_ROBOTS_AGE = 24 * 3600.0
_PROGRESS_EVERY = 100_000


class Invalid(Exception):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where, self.problem = where, problem


@dataclass
class LogReport:
    platform: str
    origin: str = ""
    records: int = 0
    checkpoints: int = 0
    signed_size: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    recovered: list[int] = field(default_factory=list)  # line numbers of log.recovered records

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.decisions.items())) or "none"
        text = (
            f"{self.platform}: {self.records} records, {self.checkpoints} checkpoints "
            f"(signed up to {self.signed_size}); decisions: {counts}"
        )
        if self.recovered:
            lines = ", ".join(map(str, self.recovered))
            text += f"; torn tail repaired after a crash (line {lines})"
        if self.signed_size < self.records:
            text += f"; {self.records - self.signed_size} records after the last checkpoint"
        return text


def _ts(value: Any) -> float:
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


class _Semantics:
    """What the records must say about each other."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.robots: dict[tuple[str, str], float] = {}  # (robots_url, sha256) -> fetched_at
        self.allowed: set[str] = set()
        self.refused: set[str] = set()

    def check(self, number: int, record: dict[str, Any]) -> None:
        kind = record.get("type")
        where = f"{self.where}:{number}"
        if kind == "preflight":
            ev = record.get("evidence") or {}
            self.robots[(str(ev.get("robots_url")), str(ev.get("sha256")))] = float(
                ev.get("fetched_at") or 0
            )
        elif kind == "decision":
            url = str(record.get("url"))
            robots = (record.get("evidence") or {}).get("robots")
            if isinstance(robots, dict) and "sha256" in robots:
                key = (str(robots.get("robots_url")), str(robots.get("sha256")))
                if key not in self.robots:
                    raise Invalid(
                        where,
                        f"the decision cites robots.txt {key[0]} "
                        f"(sha256 {key[1][:16]}...) that no preflight recorded",
                    )
                age = _ts(record.get("ts")) - self.robots[key]
                if age > MAX_ROBOTS_AGE + 60:
                    raise Invalid(
                        where,
                        f"the decision rests on a robots.txt {age / 3600:.1f} "
                        "hours old (RFC 9309 allows 24)",
                    )
            # An allow, or a refusal in report-only mode (not enforced), lets the request go.
            if record.get("decision") == "allow" or record.get("enforced") is False:
                self.allowed.add(url)
                self.refused.discard(url)
            else:
                self.refused.add(url)
                self.allowed.discard(url)
        elif kind == "fetched":
            url = str(record.get("url"))
            if url in self.refused:
                raise Invalid(where, f"{url} was fetched after an enforced refusal")
            if url not in self.allowed:
                raise Invalid(where, f"{url} was fetched without an allow decision")


def verify_log(
    directory: Path, platform: str, public: bytes, *, progress: bool = False
) -> LogReport:
    report = LogReport(platform)
    entries = directory / ENTRIES
    try:
        data = entries.read_bytes()
    except OSError as exc:
        raise Invalid(str(entries), f"cannot read ({exc.strerror or exc})") from None
    if data and not data.endswith(b"\n"):
        last_line = data.count(b"\n") + 1
        raise Invalid(
            f"{entries}:{last_line}",
            "torn tail: the last line is incomplete, as a crash "
            "while writing leaves it (not tampering); the next crawl repairs it",
        )
    # Roots are needed only at the sizes checkpoints sign: computing one per record would cost
    # O(log n) hashes each.
    wanted = _signed_sizes(directory / CHECKPOINTS)
    roots: dict[int, bytes] = {}
    frontier = Frontier()
    prev = GENESIS
    semantics = _Semantics(str(entries))
    for number, line in enumerate(data.splitlines(), start=1):
        where = f"{entries}:{number}"
        try:
            record, digest = decode(line)
        except RecordError as exc:
            raise Invalid(where, str(exc)) from None
        if number == 1:
            report.origin = str(record.get("log", ""))
            if not report.origin.endswith(f"/polite-crawl/{platform}"):
                raise Invalid(
                    where,
                    f"this is the log of {report.origin!r}, not of platform "
                    f"{platform!r}: logs were swapped or renamed",
                )
        if record.get("log") != report.origin:
            raise Invalid(where, f"record of another log ({record.get('log')!r})")
        if record.get("seq") != number - 1:
            raise Invalid(
                where,
                f"sequence {record.get('seq')} where {number - 1} was expected: "
                "a record was deleted, inserted or moved",
            )
        if record.get("prev") != prev:
            raise Invalid(
                where,
                "does not follow the previous record: a record was deleted, inserted or moved",
            )
        semantics.check(number, record)
        if record.get("type") == "decision":
            kind = str(record.get("decision"))
            report.decisions[kind] = report.decisions.get(kind, 0) + 1
        if record.get("type") == "log.recovered":
            report.recovered.append(number)
        frontier.append(line)
        if frontier.size in wanted:
            roots[frontier.size] = frontier.root()
        prev = digest
        if progress and number % _PROGRESS_EVERY == 0:
            print(f"\r{platform}: {number:,} records verified", end="", file=sys.stderr)
    if progress and frontier.size >= _PROGRESS_EVERY:
        print(file=sys.stderr)
    report.records = frontier.size
    _check_checkpoints(directory / CHECKPOINTS, report, roots, public)
    return report


def _signed_sizes(path: Path) -> set[int]:
    sizes: set[int] = set()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return sizes
    for raw in text.splitlines():
        try:
            sizes.add(int(json.loads(raw)["size"]))
        except (ValueError, KeyError, TypeError):
            continue  # _check_checkpoints reports it
    return sizes


def _check_checkpoints(
    path: Path, report: LogReport, roots: dict[int, bytes], public: bytes
) -> None:
    if not path.exists():
        if report.records:
            raise Invalid(
                str(path),
                "missing: no checkpoint signs this log (the crawl did not "
                "close; the next crawl or an export signs it)",
            )
        return
    last = 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        where = f"{path}:{number}"
        try:
            entry = json.loads(raw)
            checkpoint = open_note(str(entry["note"]), report.origin, public)
        except NoteError as exc:
            raise Invalid(where, f"{exc}: signed by another key, or altered") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise Invalid(where, f"not a checkpoint ({exc})") from None
        if checkpoint.origin != report.origin:
            raise Invalid(where, f"a checkpoint of {checkpoint.origin!r}, not of this log")
        if checkpoint.size < last:
            raise Invalid(where, "checkpoints go backwards")
        if checkpoint.size > report.records:
            raise Invalid(
                where,
                f"signs {checkpoint.size} records but the log has "
                f"{report.records}: records were removed from the end",
            )
        if checkpoint.size and roots.get(checkpoint.size) != checkpoint.root:
            raise Invalid(
                where,
                f"the records up to {checkpoint.size} do not hash to the signed "
                "root: the log was altered",
            )
        last = checkpoint.size
        report.checkpoints += 1
    report.signed_size = last
    if last < report.records:
        raise Invalid(
            f"{path.parent / ENTRIES}:{last + 1}",
            f"{report.records - last} records "
            "after the last checkpoint are not signed (the crawl did not close; the "
            "next crawl or an export signs them)",
        )
