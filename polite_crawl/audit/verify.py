"""`polite-crawl audit verify PATH`: recompute everything from the bytes.

For each log: every line's own hash, the chain (`prev`), the sequence, the log's identity
(its origin must name the directory it sits in), the Merkle root at every signed checkpoint,
each checkpoint's Ed25519 signature against the pinned public key, and the semantic rules
(nothing fetched after an enforced refusal; every robots.txt a decision cites was fetched,
recorded, and at most 24 hours old; a record's platform is its log's; run.end counts its own
log's records). The first problem found is reported as file:line. docs/format.md specifies every
rule; heads (verify_heads.py), export manifests (bundle.py) and kept checkpoints (since.py) are
checked beside this.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from polite_crawl.audit.logfile import CHECKPOINTS, ENTRIES
from polite_crawl.audit.merkle import EMPTY_ROOT, Frontier
from polite_crawl.audit.note import NoteError, commitment, open_note
from polite_crawl.audit.parse import Fields, parsed_lines
from polite_crawl.audit.progress import Progress, estimate_records
from polite_crawl.audit.record import GENESIS
from polite_crawl.audit.store import NO_PLATFORM

if TYPE_CHECKING:
    from pathlib import Path

MAX_ROBOTS_AGE = 24 * 3600.0
# While robots.txt is unreachable, the crawler decides on its last good copy for up to this long
# (origin/store.py MAX_FALLBACK_AGE; RFC 9309 §2.4 allows a cached copy past 24 hours then), and
# the failed fetch itself is in force for up to a day: a decision on a fallback copy may cite a
# fetch up to both apart.
MAX_FALLBACK_AGE = 7 * 24 * 3600.0


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
    # (size, commitment, root) of every checkpoint, oldest first (docs/format.md §4, §5)
    signed: list[tuple[int, str, bytes]] = field(default_factory=list)
    evidence: set[str] = field(default_factory=set)  # robots.txt bytes cited, by sha256
    policies: set[str] = field(default_factory=set)  # policy files cited, by sha256
    leaves: list[bytes] | None = None  # every leaf hash, when a consistency proof is wanted

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


class _Semantics:
    """What the records must say about each other."""

    def __init__(self, where: str, platform: str) -> None:
        self.where = where
        self.platform = None if platform == NO_PLATFORM else platform
        self.robots: dict[tuple[str, str], float] = {}  # (robots_url, sha256) -> fetched_at
        self.allowed: set[str] = set()
        self.refused: set[str] = set()
        self.policies: set[str] = set()
        self.evidence: set[str] = set()  # the origin files' bodies preflights recorded
        # counts since the latest run.start, by (type, decision): named only at its run.end
        self.run: dict[tuple[Any, Any], int] | None = None

    def check(self, number: int, f: Fields) -> None:
        if f.platform is not None and f.platform[0] != self.platform:
            raise Invalid(
                f"{self.where}:{number}",
                f"a record of platform {f.platform[0]!r} in the log of "
                f"{self.platform or NO_PLATFORM!r}",
            )
        kind = f.kind
        if kind == "run.end":
            self._end(number, f)
        else:
            run = self.run
            if kind == "run.start":
                run = self.run = {}
            if run is not None:
                key = (kind, f.decision)
                run[key] = run.get(key, 0) + 1
        if f.policy_sha is not None:
            self.policies.add(f.policy_sha)
        if f.kind == "preflight":
            self.evidence.add(str(f.robots_sha))
            if f.robots_url is not None:
                self.robots[(str(f.robots_url), str(f.robots_sha))] = f.fetched_at or 0.0
        elif f.kind == "decision":
            url = str(f.url)
            if f.robots_sha is not None:
                key = (str(f.robots_url), str(f.robots_sha))
                if key not in self.robots:
                    raise Invalid(
                        f"{self.where}:{number}",
                        f"the decision cites robots.txt {key[0]} (sha256 "
                        f"{key[1][:16]}...) that no preflight recorded",
                    )
                age = (f.ts or 0.0) - self.robots[key]
                if age < -60:
                    raise Invalid(
                        f"{self.where}:{number}",
                        "the decision is older than the robots.txt fetch it cites",
                    )
                limit = MAX_ROBOTS_AGE + (MAX_FALLBACK_AGE if f.fallback else 0.0)
                if age > limit + 60:
                    raise Invalid(
                        f"{self.where}:{number}",
                        f"the decision rests on a robots.txt {age / 3600:.1f} hours "
                        "old (RFC 9309 allows 24, or 8 days on a last good copy while "
                        "the file is unreachable)",
                    )
            # An allow, or a refusal in report-only mode (not enforced), lets the request go.
            if f.lets_go:
                self.allowed.add(url)
                self.refused.discard(url)
            else:
                self.refused.add(url)
                self.allowed.discard(url)
        elif f.kind == "fetched":
            url = str(f.url)
            if url in self.refused:
                raise Invalid(
                    f"{self.where}:{number}", f"{url} was fetched after an enforced refusal"
                )
            if url not in self.allowed:
                raise Invalid(
                    f"{self.where}:{number}", f"{url} was fetched without an allow decision"
                )

    def _end(self, number: int, f: Fields) -> None:
        """run.end states how many records of each kind its run wrote to this log."""
        if self.run is None:
            raise Invalid(f"{self.where}:{number}", "a run.end without a run.start before it")
        wrote = {
            f"decision/{decision}" if kind == "decision" else str(kind): n
            for (kind, decision), n in self.run.items()
        }
        if f.counts != wrote:
            raise Invalid(
                f"{self.where}:{number}",
                f"run.end counts {f.counts!r} but the run wrote {wrote!r} to this log",
            )
        self.run = None


EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_HEX = frozenset("0123456789abcdef")


def verify_log(
    directory: Path,
    platform: str,
    public: bytes,
    *,
    progress: bool = False,
    keep_leaves: bool = False,
) -> LogReport:
    """One log's records, chain, checkpoints and rules. The evidence its records cite is
    listed in the report (report.evidence, report.policies) for the caller to find."""
    report = LogReport(platform)
    if keep_leaves:
        report.leaves = []
    entries = directory / ENTRIES
    try:
        size = entries.stat().st_size
        torn = size > 0 and _last_byte(entries, size) != b"\n"
    except OSError as exc:
        raise Invalid(str(entries), f"cannot read ({exc.strerror or exc})") from None
    if size == 0:
        raise Invalid(
            str(entries),
            "empty: a log is created with its first record, so an empty one was emptied",
        )
    if torn:
        with open(entries, "rb") as fh:
            last_line = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
        raise Invalid(
            f"{entries}:{last_line + 1}",
            "torn tail: the last line is incomplete (no newline), as a crash while "
            "writing leaves it (or an edit); the next crawl mends it and records the cut",
        )
    # Roots are needed only at the sizes checkpoints sign: computing one per record would cost
    # O(log n) hashes each.
    wanted = _signed_sizes(directory / CHECKPOINTS)
    roots: dict[int, bytes] = {}
    frontier = Frontier()
    prev = GENESIS
    semantics = _Semantics(str(entries), platform)
    bar = Progress(
        f"verify {platform}",
        estimate_records(entries, size) if progress else 0,
        enabled=progress,
    )
    for number, f in enumerate(parsed_lines(entries, size), start=1):
        if f.digest is None or f.leaf is None:
            raise Invalid(f"{entries}:{number}", str(f.error))
        if number == 1:
            report.origin = str(f.log)
            if not report.origin.endswith(f"/polite-crawl/{platform}"):
                raise Invalid(
                    f"{entries}:{number}",
                    f"this is the log of {report.origin!r}, not of platform "
                    f"{platform!r}: logs were swapped or renamed",
                )
        if f.log != report.origin:
            raise Invalid(f"{entries}:{number}", f"record of another log ({f.log!r})")
        if f.seq != number - 1:
            raise Invalid(
                f"{entries}:{number}",
                f"sequence {f.seq} where {number - 1} was expected: "
                "a record was deleted, inserted or moved",
            )
        if f.prev != prev:
            raise Invalid(
                f"{entries}:{number}",
                "does not follow the previous record: a record was deleted, inserted or moved",
            )
        semantics.check(number, f)
        if f.kind == "decision":
            kind = str(f.decision)
            report.decisions[kind] = report.decisions.get(kind, 0) + 1
        elif f.kind == "log.recovered":
            report.recovered.append(number)
        leaf, digest = f.leaf, f.digest
        frontier.append_hash(leaf)
        if report.leaves is not None:
            report.leaves.append(leaf)
        if frontier.size in wanted:
            roots[frontier.size] = frontier.root()
        prev = digest
        if number & 1023 == 0:
            bar.update(number)
    bar.close(frontier.size)
    report.records = frontier.size
    _check_checkpoints(directory / CHECKPOINTS, report, roots, public)
    report.evidence = semantics.evidence - {EMPTY_SHA256}
    report.policies = semantics.policies
    return report


def sha256_file(path: Path) -> str:
    """Hashed in pieces: an evidence file may be large, and is never read whole."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_evidence(directory: Path, digests: set[str], what: str, suffix: str = "") -> None:
    """Bytes records cite, kept by sha256 (docs/format.md E1): present and unchanged."""
    for digest in sorted(digests):
        if len(digest) != 64 or not _HEX.issuperset(digest):
            raise Invalid(str(directory), f"a record cites {digest[:80]!r}, not a sha256")
        path = directory / f"{digest}{suffix}"
        if path.is_symlink() or (path.exists() and not path.is_file()):
            # A FIFO would block the reader for ever; a link could point anywhere.
            raise Invalid(str(path), f"the {what} is not a regular file")
        try:
            actual = sha256_file(path)
        except OSError:
            raise Invalid(str(path), f"the {what} a record cites is missing") from None
        if actual != digest:
            raise Invalid(str(path), f"the {what} bytes do not match their sha256 (changed)")


def _last_byte(path: Path, size: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(size - 1)
        return fh.read(1)


def _signed_sizes(path: Path) -> set[int]:
    sizes: set[int] = set()
    try:
        data = path.read_bytes()
    except OSError:
        return sizes
    for raw in data.splitlines():
        try:
            sizes.add(int(json.loads(raw)["size"]))
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
            continue  # _check_checkpoints reports it
    return sizes


def _check_checkpoints(
    path: Path, report: LogReport, roots: dict[int, bytes], public: bytes
) -> None:
    if not path.exists():
        if report.records:
            raise Invalid(
                str(path),
                "missing: no checkpoint signs this log (the crawl did not close; the next "
                "crawl writing to it, or polite-crawl audit seal, signs it)",
            )
        return
    last = 0
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Invalid(str(path), f"cannot read ({exc.strerror or exc})") from None
    if data and not data.endswith(b"\n"):
        lines = data.count(b"\n")
        raise Invalid(
            f"{path}:{lines + 1}",
            "torn tail: the last line is incomplete (no newline)",
        )
    # Damaged bytes (not UTF-8, nested too deeply) are reported on their line, not raised.
    for number, raw in enumerate(data.split(b"\n")[:-1], start=1):
        where = f"{path}:{number}"
        try:
            entry = json.loads(raw.decode("utf-8"))
            checkpoint = open_note(str(entry["note"]), report.origin, public)
        except NoteError as exc:
            raise Invalid(where, f"{exc}: signed by another key, or altered") from None
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise Invalid(where, f"not a checkpoint ({exc})") from None
        if checkpoint.origin != report.origin:
            raise Invalid(where, f"a checkpoint of {checkpoint.origin!r}, not of this log")
        size = entry.get("size")
        if type(size) is not int or size != checkpoint.size or b"\r" in raw:
            raise Invalid(where, "its size field does not match the size it signs")
        if checkpoint.size < last:
            raise Invalid(where, "checkpoints go backwards")
        if checkpoint.size > report.records:
            raise Invalid(
                where,
                f"signs {checkpoint.size} records but the log has "
                f"{report.records}: records were removed from the end",
            )
        root = roots.get(checkpoint.size) if checkpoint.size else EMPTY_ROOT
        if root != checkpoint.root:
            raise Invalid(
                where,
                f"the records up to {checkpoint.size} do not hash to the signed "
                "root: the log was altered",
            )
        last = checkpoint.size
        report.checkpoints += 1
        report.signed.append((checkpoint.size, commitment(checkpoint.body()), checkpoint.root))
    report.signed_size = last
    if last < report.records:
        raise Invalid(
            f"{path.parent / ENTRIES}:{last + 1}",
            f"{report.records - last} records "
            "after the last checkpoint are not signed (the crawl did not close; "
            "polite-crawl audit seal signs them, as does the next crawl writing to this log)",
        )
