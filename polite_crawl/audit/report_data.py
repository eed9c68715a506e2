"""What `audit report` reads out of one platform's log, in one pass: the answers a platform's
trust-and-safety team asks for first. What was fetched (paths grouped, counts, bytes), how fast
each host was asked against the delay in force, what was refused (with distinct examples), what
was dropped, and who crawled (runs grouped by identical identity). render() is in report.py.
"""

from __future__ import annotations

import datetime
import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from polite_crawl.audit.progress import Progress, estimate_records
from polite_crawl.audit.record import RecordError, decode

if TYPE_CHECKING:
    from pathlib import Path

EXAMPLES = 5  # distinct URLs shown per refusal reason
PATH_GROUPS = 12  # path groups shown per host; the rest are summed as "other paths"
WINDOW = 60.0  # seconds: the busiest window a host's rate is measured over


@dataclass
class Identity:
    """Runs that crawled as the same operator: one row however many times it was started."""

    user_agent: str
    contact: str
    purposes: str
    mode: str
    runs: int = 0
    first: str = ""
    last: str = ""


@dataclass
class Host:
    responses: int = 0
    bytes: int = 0
    cached: int = 0
    paths: Counter[str] = field(default_factory=Counter)
    path_bytes: Counter[str] = field(default_factory=Counter)
    sent: list[float] = field(default_factory=list)  # when each network response came in
    delay: float = 0.0  # the longest Crawl-delay or min_delay a decision for it applied
    delay_from: str = ""

    def pace(self) -> tuple[int, float | None]:
        """(responses in the busiest WINDOW seconds, shortest gap between two responses)."""
        times = sorted(self.sent)
        busiest, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] > WINDOW:
                start += 1
            busiest = max(busiest, end - start + 1)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        return busiest, (min(gaps) if gaps else None)


@dataclass
class Summary:
    origin: str = ""
    identities: dict[tuple[str, str, str, str], Identity] = field(default_factory=dict)
    policies: set[str] = field(default_factory=set)  # "id: sha256" of the run.start records
    first: str = ""
    last: str = ""
    decisions: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    examples: dict[str, dict[str, None]] = field(default_factory=dict)  # reason -> URLs
    dropped: Counter[str] = field(default_factory=Counter)  # item.dropped by reason
    dropped_pages: dict[str, dict[str, None]] = field(default_factory=dict)
    hosts: dict[str, Host] = field(default_factory=dict)
    per_day: dict[str, Counter[str]] = field(default_factory=dict)
    origin_files: dict[tuple[str, str, str], str] = field(default_factory=dict)
    unreadable: int = 0
    grants: dict[str, str] = field(default_factory=dict)  # grant id -> granted by

    @property
    def fetched(self) -> int:
        return sum(h.responses for h in self.hosts.values())

    @property
    def fetched_bytes(self) -> int:
        return sum(h.bytes for h in self.hosts.values())


def summarise(entries: Path, platform: str, *, progress: bool = False) -> Summary:
    s = Summary()
    total = estimate_records(entries, entries.stat().st_size) if progress else 0
    bar = Progress(f"report {platform}", total, enabled=progress)
    done = 0
    with open(entries, "rb") as fh:
        for raw in fh:
            done += 1
            if done & 1023 == 0:
                bar.update(done)
            if not raw.endswith(b"\n"):
                break  # a torn tail is reported by the verification line
            try:
                record, _ = decode(raw.rstrip(b"\n"))
            except RecordError:
                s.unreadable += 1
                continue
            _add(s, record, platform)
    bar.close(done)
    return s


def _add(s: Summary, record: dict[str, Any], platform: str) -> None:
    ts = str(record.get("ts", ""))
    s.origin = s.origin or str(record.get("log", ""))
    s.first = s.first or ts
    s.last = ts or s.last
    kind = record.get("type")
    if kind == "run.start":
        _run(s, record, ts, platform)
    elif kind == "decision":
        _decision(s, record, ts)
    elif kind == "fetched":
        _fetched(s, record, ts)
    elif kind == "item.dropped":
        reason = str(record.get("reason"))
        s.dropped[reason] += 1
        s.dropped_pages.setdefault(reason, {})[str(record.get("url"))] = None
    elif kind == "preflight":
        _preflight(s, record)


def _run(s: Summary, record: dict[str, Any], ts: str, platform: str) -> None:
    key = (
        str(record.get("user_agent") or "none"),
        str(record.get("contact") or "none"),
        ", ".join(record.get("purposes") or []),
        str(record.get("mode") or "enforce"),
    )
    identity = s.identities.setdefault(key, Identity(*key, first=ts))
    identity.runs += 1
    identity.last = ts
    s.policies.update(
        f"{pid}: {sha}" for pid, sha in (record.get("policies") or {}).items() if pid == platform
    )


def _decision(s: Summary, record: dict[str, Any], ts: str) -> None:
    verdict = str(record.get("decision"))
    if verdict == "deny" and record.get("enforced") is False:
        verdict = "let through (report-only)"
    s.decisions[verdict] += 1
    day = s.per_day.setdefault(ts[:13], Counter())  # hourly; render() may merge to days
    day["allow" if verdict == "allow" else "refused"] += 1
    evidence = record.get("evidence") or {}
    consent = (evidence.get("tos") or {}).get("consent")
    if isinstance(consent, dict):
        s.grants[str(consent.get("grant"))] = str(consent.get("granted_by"))
    if verdict != "allow":
        reason = str(record.get("reason"))
        s.reasons[reason] += 1
        examples = s.examples.setdefault(reason, {})
        if len(examples) < EXAMPLES:
            examples[str(record.get("url"))] = None  # distinct: a dict keeps the first order
        return
    host = s.hosts.setdefault(_host(record.get("url")), Host())
    delay = (evidence.get("robots") or {}).get("crawl_delay") or {}
    applied = delay.get("applied")
    if isinstance(applied, (int, float)) and applied > host.delay:
        host.delay, host.delay_from = float(applied), "robots.txt Crawl-delay"
    minimum = (evidence.get("requirements") or {}).get("min_delay")
    if isinstance(minimum, (int, float)) and minimum > host.delay:
        host.delay, host.delay_from = float(minimum), "policy min_delay"


def _fetched(s: Summary, record: dict[str, Any], ts: str) -> None:
    url = str(record.get("url"))
    host = s.hosts.setdefault(_host(url), Host())
    size = int(record.get("bytes") or 0)
    group = _path_group(url)
    host.responses += 1
    host.bytes += size
    host.paths[group] += 1
    host.path_bytes[group] += size
    if record.get("cached"):
        host.cached += 1  # answered from the HTTP cache: the site was not asked
        return
    when = _epoch(ts)
    if when is not None:
        host.sent.append(when)


def _preflight(s: Summary, record: dict[str, Any]) -> None:
    # The record's own url: tdmrep.json and ai.txt evidence has no robots_url (the "None" row).
    ev = record.get("evidence") or {}
    url = str(record.get("url") or ev.get("robots_url") or ev.get("url") or "")
    if not url:
        return
    when = datetime.datetime.fromtimestamp(float(ev.get("fetched_at") or 0), datetime.timezone.utc)
    s.origin_files[(url, str(record.get("kind") or "robots"), str(ev.get("sha256")))] = (
        f"{when:%Y-%m-%d %H:%M} UTC, status {ev.get('status')}"
    )


def _host(url: Any) -> str:
    parts = urlsplit(str(url))
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else str(url)


def _path_group(url: str) -> str:
    """/r/science/top -> /r/*: the first path segment, so a thousand pages read as one line."""
    path = urlsplit(url).path or "/"
    segments = [p for p in path.split("/") if p]
    if len(segments) <= 1:
        return path
    return f"/{segments[0]}/*"


def _epoch(ts: str) -> float | None:
    try:
        return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
