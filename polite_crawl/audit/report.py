"""`polite-crawl audit report --platform ID -o report.html PATH`: one self-contained HTML page a
platform's trust-and-safety team can read: who crawled (runs grouped by identity), when, what
was fetched (paths grouped, counts, bytes), how fast each host was asked against the delay in
force, what was refused and why (by reason with distinct examples, and over time), what was
dropped, which policy and origin-file versions applied, and whether the log verifies. No
scripts, no external resources: inline CSS and an inline SVG chart. The data: report_data.py.
"""

from __future__ import annotations

import html
import sys
from collections import Counter
from typing import TYPE_CHECKING

from polite_crawl.audit.logfile import ENTRIES
from polite_crawl.audit.report_data import PATH_GROUPS, WINDOW, Host, Summary, summarise

if TYPE_CHECKING:
    from pathlib import Path

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.25em .5em;
border-bottom:1px solid #eee;vertical-align:top}code{font-size:.9em;word-break:break-all}
.ok{color:#0a0;font-weight:bold}.bad{color:#c00;font-weight:bold}.num{text-align:right}
.sub td{color:#555}
"""


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
        f"<tr><td>{e(_when(i.first))}</td><td>{e(_when(i.last))}</td>"
        f"<td class=num>{i.runs}</td><td><code>{e(i.user_agent)}</code></td>"
        f"<td>{e(i.contact)}</td>"
        f"<td>{e(i.purposes)}</td><td>{e(i.mode)}</td></tr>"
        for i in s.identities.values()
    )
    reasons = "".join(
        f"<tr><td><code>{e(reason)}</code></td><td class=num>{count}</td><td>"
        + "<br>".join(f"<code>{e(u)}</code>" for u in s.examples.get(reason, {}))
        + "</td></tr>"
        for reason, count in s.reasons.most_common()
    )
    dropped = "".join(
        f"<tr><td><code>{e(reason)}</code></td><td class=num>{count}</td><td>"
        + "<br>".join(f"<code>{e(u)}</code>" for u in list(s.dropped_pages[reason])[:5])
        + "</td></tr>"
        for reason, count in s.dropped.most_common()
    )
    files = "".join(
        f"<tr><td>{e(kind)}</td><td><code>{e(url)}</code></td><td><code>{e(sha[:16])}…</code>"
        f"</td><td>{e(when)}</td></tr>"
        for (url, kind, sha), when in sorted(s.origin_files.items())
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
<p>Log <code>{e(s.origin)}</code>, from {e(_when(s.first))} to {e(_when(s.last))}.</p>
<p>Verification: {status}</p>
<h2>Who crawled</h2>
<p>Runs with the same User-Agent, contact, purposes and mode are one row.</p>
<table><tr><th>first run</th><th>last run</th><th class=num>runs</th><th>User-Agent</th>
<th>contact</th><th>purposes</th><th>mode</th></tr>{runs}</table>
<h2>What was fetched</h2>
<p>Decisions: {e(totals)}. Responses received: {s.fetched} ({s.fetched_bytes:,} bytes).
{f"<b>{s.unreadable} unreadable lines.</b>" if s.unreadable else ""}</p>
{_fetched_table(s)}
<h2>How fast</h2>
{_pace_table(s)}
<h2>What was refused, and why</h2>
<table><tr><th>reason</th><th class=num>requests</th><th>refused URLs (distinct)</th></tr>
{reasons or "<tr><td colspan=3>nothing was refused</td></tr>"}</table>
<h2>Items dropped</h2>
<p>Items a spider yielded from a page whose signals forbid a declared purpose.</p>
<table><tr><th>reason</th><th class=num>items</th><th>pages</th></tr>
{dropped or "<tr><td colspan=3>no item was dropped</td></tr>"}</table>
<h2>Over time</h2>
{_chart(s.per_day)}
<p>Green: allowed; red: refused (or let through in report-only mode).</p>
<h2>Rules that applied</h2>
<p>Policy file (sha256): {e("; ".join(sorted(s.policies)) or "no platform policy")}</p>
<p>Consent grants used: {e(grants or "none")}</p>
<table><tr><th>origin file</th><th>URL</th><th>sha256</th><th>fetched</th></tr>{files}</table>
<p><small>Made by polite_crawl from the audit log. Check it yourself:
<code>polite-crawl audit verify EXPORT --key public.key</code>.</small></p>
</body></html>
"""


def _when(ts: str) -> str:
    """2026-12-06T09:27:05.564745Z -> 2026-12-06 09:27:05 UTC: read, not parsed."""
    if len(ts) >= 19 and ts[10] == "T":
        return f"{ts[:10]} {ts[11:19]} UTC"
    return ts


def _fetched_table(s: Summary) -> str:
    e = html.escape
    rows = []
    for name, host in sorted(s.hosts.items()):
        if not host.responses:
            continue
        cached = f", {host.cached} from the HTTP cache" if host.cached else ""
        rows.append(
            f"<tr><td><code>{e(name)}</code></td><td></td><td class=num>{host.responses}"
            f"{e(cached)}</td><td class=num>{host.bytes:,}</td></tr>"
        )
        groups = host.paths.most_common()
        for group, count in groups[:PATH_GROUPS]:
            rows.append(
                f"<tr class=sub><td></td><td><code>{e(group)}</code></td><td class=num>{count}"
                f"</td><td class=num>{host.path_bytes[group]:,}</td></tr>"
            )
        rest = groups[PATH_GROUPS:]
        if rest:
            rows.append(
                f"<tr class=sub><td></td><td>{len(rest)} other paths</td><td class=num>"
                f"{sum(c for _, c in rest)}</td><td class=num>"
                f"{sum(host.path_bytes[g] for g, _ in rest):,}</td></tr>"
            )
    if not rows:
        return "<p>No response was received.</p>"
    return (
        "<table><tr><th>host</th><th>paths</th><th class=num>responses</th>"
        f"<th class=num>bytes</th></tr>{''.join(rows)}</table>"
    )


def _pace_table(s: Summary) -> str:
    rows = [_pace_row(name, host) for name, host in sorted(s.hosts.items()) if host.sent]
    if not rows:
        return "<p>No request reached a host.</p>"
    return (
        f"<p>Per host: the most responses within any {WINDOW:.0f} seconds, and the shortest "
        "gap between two, against the delay polite_crawl kept for it (robots.txt Crawl-delay "
        "or the platform policy's min_delay; none: Scrapy's own settings).</p>"
        "<table><tr><th>host</th><th class=num>busiest minute</th>"
        "<th class=num>shortest gap</th><th>delay in force</th><th></th></tr>"
        f"{''.join(rows)}</table>"
    )


def _pace_row(name: str, host: Host) -> str:
    e = html.escape
    busiest, gap = host.pace()
    gap_text = "-" if gap is None else f"{gap:.2f} s"
    if host.delay:
        delay = f"{host.delay:g} s ({host.delay_from})"
        # 5 % for clock resolution: the gap is measured between responses, each paced delay
        # seconds after the previous finished, so a kept delay never shows much shorter.
        kept = gap is None or gap >= host.delay * 0.95
        verdict = '<span class="ok">kept</span>' if kept else '<span class="bad">faster</span>'
    else:
        delay, verdict = "none", ""
    return (
        f"<tr><td><code>{e(name)}</code></td><td class=num>{busiest}</td>"
        f"<td class=num>{gap_text}</td><td>{e(delay)}</td><td>{verdict}</td></tr>"
    )


def write_report(
    log_dir: Path, platform: str, out: Path, verification: tuple[bool, str]
) -> Summary:
    summary = summarise(log_dir / ENTRIES, platform, progress=sys.stderr.isatty())
    out.write_text(render(platform, summary, verification), encoding="utf-8")
    return summary
