"""`polite-crawl audit report --platform ID -o report.html PATH`: one self-contained HTML page a
platform's trust-and-safety team can read: who crawled, when, how much, what was refused and
why (by reason and over time), which policy and robots.txt versions applied, and whether the
log verifies. No scripts, no external resources: inline CSS and an inline SVG chart.
"""

from __future__ import annotations

import datetime
import html
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from polite_crawl.audit.logfile import ENTRIES
from polite_crawl.audit.record import RecordError, decode

if TYPE_CHECKING:
    from pathlib import Path

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.25em .5em;
border-bottom:1px solid #eee;vertical-align:top}code{font-size:.9em;word-break:break-all}
.ok{color:#0a0;font-weight:bold}.bad{color:#c00;font-weight:bold}.num{text-align:right}
"""


@dataclass
class Summary:
    origin: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)
    first: str = ""
    last: str = ""
    decisions: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    fetched: int = 0
    fetched_bytes: int = 0
    per_day: dict[str, Counter[str]] = field(default_factory=dict)
    robots: dict[tuple[str, str], str] = field(default_factory=dict)  # (url, sha) -> fetched
    unreadable: int = 0
    grants: dict[str, str] = field(default_factory=dict)  # grant id -> granted by


def summarise(entries: Path) -> Summary:
    s = Summary()
    with open(entries, "rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                break  # a torn tail is reported by the verification line
            try:
                record, _ = decode(raw.rstrip(b"\n"))
            except RecordError:
                s.unreadable += 1
                continue
            _add(s, record)
    return s


def _add(s: Summary, record: dict[str, Any]) -> None:
    ts = str(record.get("ts", ""))
    s.origin = s.origin or str(record.get("log", ""))
    s.first = s.first or ts
    s.last = ts or s.last
    kind = record.get("type")
    if kind == "run.start":
        s.runs.append(record)
    elif kind == "decision":
        verdict = str(record.get("decision"))
        if verdict == "deny" and record.get("enforced") is False:
            verdict = "let through (report-only)"
        s.decisions[verdict] += 1
        day = s.per_day.setdefault(ts[:13], Counter())  # hourly; render() may merge to days
        day["allow" if verdict == "allow" else "refused"] += 1
        consent = ((record.get("evidence") or {}).get("tos") or {}).get("consent")
        if isinstance(consent, dict):
            s.grants[str(consent.get("grant"))] = str(consent.get("granted_by"))
        if verdict != "allow":
            reason = str(record.get("reason"))
            s.reasons[reason] += 1
            examples = s.examples.setdefault(reason, [])
            if len(examples) < 3:
                examples.append(str(record.get("url")))
    elif kind == "fetched":
        s.fetched += 1
        s.fetched_bytes += int(record.get("bytes") or 0)
    elif kind == "preflight":
        ev = record.get("evidence") or {}
        when = datetime.datetime.fromtimestamp(
            float(ev.get("fetched_at") or 0), datetime.timezone.utc
        )
        s.robots[(str(ev.get("robots_url")), str(ev.get("sha256")))] = (
            f"{when:%Y-%m-%d %H:%M} UTC, status {ev.get('status')}"
        )


def _bins(per_hour: dict[str, Counter[str]]) -> dict[str, Counter[str]]:
    """Hours for a crawl of up to two days, days beyond."""
    if len({h[:10] for h in per_hour}) <= 2:
        return {h.replace("T", " ") + "h": c for h, c in per_hour.items()}
    days: dict[str, Counter[str]] = {}
    for hour, counts in per_hour.items():
        days.setdefault(hour[:10], Counter()).update(counts)
    return days


def _chart(per_hour: dict[str, Counter[str]]) -> str:
    per_day = _bins(per_hour)
    days = sorted(per_day)
    if not days:
        return "<p>No decisions.</p>"
    top = max(sum(c.values()) for c in per_day.values()) or 1
    width, height, bar = max(300, 60 * len(days)), 160, 40
    parts = [
        f'<svg role="img" aria-label="decisions per day" width="{width}" '
        f'height="{height + 30}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, day in enumerate(days):
        x = 10 + i * 60
        allowed, refused = per_day[day]["allow"], per_day[day]["refused"]
        ha, hr = height * allowed / top, height * refused / top
        parts.append(
            f'<rect x="{x}" y="{height - ha - hr:.1f}" width="{bar}" '
            f'height="{hr:.1f}" fill="#c33"><title>{html.escape(day)}: {refused} refused</title>'
            "</rect>"
        )
        parts.append(
            f'<rect x="{x}" y="{height - ha:.1f}" width="{bar}" height="{ha:.1f}" '
            f'fill="#3a3"><title>{html.escape(day)}: {allowed} allowed</title></rect>'
        )
        parts.append(
            f'<text x="{x}" y="{height + 20}" font-size="10">{html.escape(day[5:])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render(platform: str, s: Summary, verification: tuple[bool, str]) -> str:
    e = html.escape
    ok, message = verification
    runs = "".join(
        f"<tr><td>{e(str(r.get('ts', '')))}</td><td><code>{e(str(r.get('user_agent')))}</code>"
        f"</td><td>{e(str(r.get('contact')))}</td><td>{e(', '.join(r.get('purposes') or []))}"
        f"</td><td>{e(str(r.get('mode')))}</td></tr>"
        for r in s.runs
    )
    reasons = "".join(
        f"<tr><td><code>{e(reason)}</code></td><td class=num>{count}</td><td>"
        + "<br>".join(f"<code>{e(u)}</code>" for u in s.examples.get(reason, []))
        + "</td></tr>"
        for reason, count in s.reasons.most_common()
    )
    policies = sorted(
        {
            f"{pid}: {sha}"
            for r in s.runs
            for pid, sha in (r.get("policies") or {}).items()
            if pid == platform
        }
    )
    robots = "".join(
        f"<tr><td><code>{e(url)}</code></td><td><code>{e(sha[:16])}…</code></td>"
        f"<td>{e(when)}</td></tr>"
        for (url, sha), when in sorted(s.robots.items())
    )
    grants = "; ".join(f"{g} (granted by {by})" for g, by in sorted(s.grants.items()))
    totals = ", ".join(f"{k}: {v}" for k, v in sorted(s.decisions.items())) or "none"
    status = (
        f'<span class="ok">verified</span> {e(message)}'
        if ok
        else f'<span class="bad">NOT VERIFIED</span> {e(message)}'
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Crawl report: {e(platform)}</title>
<style>{_STYLE}</style></head><body>
<h1>Crawl report for {e(platform)}</h1>
<p>Log <code>{e(s.origin)}</code>, from {e(s.first)} to {e(s.last)}.</p>
<p>Verification: {status}</p>
<h2>Who crawled</h2>
<table><tr><th>run started</th><th>User-Agent</th><th>contact</th><th>purposes</th>
<th>mode</th></tr>{runs}</table>
<h2>How much</h2>
<p>Decisions: {e(totals)}. Responses received: {s.fetched} ({s.fetched_bytes:,} bytes).
{f"<b>{s.unreadable} unreadable lines.</b>" if s.unreadable else ""}</p>
<h2>What was refused, and why</h2>
<table><tr><th>reason</th><th class=num>requests</th><th>examples</th></tr>{reasons}</table>
<h2>Over time</h2>
{_chart(s.per_day)}
<p>Green: allowed; red: refused (or let through in report-only mode).</p>
<h2>Rules that applied</h2>
<p>Policy file (sha256): {e("; ".join(policies) or "no platform policy")}</p>
<p>Consent grants used: {e(grants or "none")}</p>
<table><tr><th>robots.txt</th><th>sha256</th><th>fetched</th></tr>{robots}</table>
<p><small>Made by polite_crawl from the audit log. Check it yourself:
<code>polite-crawl audit verify EXPORT --key public.key</code>.</small></p>
</body></html>
"""


def write_report(
    log_dir: Path, platform: str, out: Path, verification: tuple[bool, str]
) -> Summary:
    summary = summarise(log_dir / ENTRIES)
    out.write_text(render(platform, summary, verification), encoding="utf-8")
    return summary
