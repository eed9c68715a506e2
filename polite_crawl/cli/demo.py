"""`polite-crawl demo`: a Clearview-like crawl of a bundled loopback mock web, and what the gate
made of it. Everything is served by a local proxy; nothing leaves the machine."""

from __future__ import annotations

import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from polite_crawl.testing.crawl import run_crawl
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from polite_crawl.testing.crawl import CrawlResult

PURPOSE = "facial-recognition"

SITES: dict[str, str] = {
    "http://blog.test": "ordinary blog; robots.txt keeps /private/ out",
    "https://x.com": "X: terms forbid facial recognition outright",
    "https://pbs.twimg.com": "X's image CDN: same policy",
    "https://www.facebook.com": "Facebook: terms forbid facial recognition outright",
    "https://www.linkedin.com": "LinkedIn: terms forbid facial recognition outright",
    "http://photos.test": "photo site; robots.txt disallows examplebot entirely",
    "http://gallery.test": "robots.txt answers 503: unreachable, so everything is refused",
    "https://shop.test": "no robots.txt (404): everything allowed",
    "http://press.test": "TDMRep: tdmrep.json reserves mining of /portraits/",
    "http://art.test": "artist page says noimageai: its images are never requested",
}


def mock_web() -> MockWeb:
    text = "text/plain"
    return MockWeb(
        {
            "http://blog.test/robots.txt": Resp(
                body="User-agent: *\nDisallow: /private/\n", content_type=text
            ),
            "http://blog.test/": page(
                "/about",
                "/private/diary",
                "http://photos.test/",
                "http://gallery.test/",
                "https://shop.test/",
                "http://press.test/",
                "http://art.test/",
                "https://x.com/someone",
                "https://www.facebook.com/someone",
                "https://www.linkedin.com/in/someone",
                images=["/img/cat.jpg", "https://pbs.twimg.com/media/face.jpg"],
            ),
            # The platforms would answer everything, robots.txt included: they are never asked.
            "https://x.com": Resp(body="User-agent: *\nAllow: /\n"),
            "https://pbs.twimg.com": Resp(body=b"\xff\xd8", content_type="image/jpeg"),
            "https://www.facebook.com": Resp(body="User-agent: *\nAllow: /\n"),
            "https://www.linkedin.com": Resp(body="User-agent: *\nAllow: /\n"),
            "http://blog.test/about": page("/"),
            "http://blog.test/private/diary": page(),
            "http://blog.test/img/cat.jpg": Resp(body=b"\xff\xd8\xff", content_type="image/jpeg"),
            "http://photos.test/robots.txt": Resp(
                body="User-agent: examplebot\nDisallow: /\n\nUser-agent: *\nAllow: /\n",
                content_type=text,
            ),
            "http://photos.test/": page("/faces/1"),
            "http://gallery.test/robots.txt": Resp(503, "maintenance", content_type=text),
            "http://gallery.test/": page("/portraits"),
            "https://shop.test/robots.txt": Resp(404, "no robots here", content_type=text),
            "https://shop.test/": page("/item/1"),
            "https://shop.test/item/1": page("/"),
            "http://press.test/robots.txt": Resp(404, "none", content_type=text),
            "http://press.test/.well-known/tdmrep.json": Resp(
                body='[{"location": "/portraits/", "tdm-reservation": 1}]',
                content_type="application/json",
            ),
            "http://press.test/": page("/portraits/mayor", "/news/budget"),
            "http://press.test/news/budget": page(),
            "http://press.test/portraits/mayor": page(),
            "http://art.test/robots.txt": Resp(404, "none", content_type=text),
            "http://art.test/": page(
                images=["/works/self-portrait.jpg"],
                head='<meta name="robots" content="noimageai">',
            ),
            "http://art.test/works/self-portrait.jpg": Resp(
                body=b"\xff\xd8\xff", content_type="image/jpeg"
            ),
        }
    )


def run(workdir: Path | None = None) -> CrawlResult:
    with MockWeb() as web:
        web.routes.update(mock_web().routes)
        with tempfile.TemporaryDirectory() as tmp:
            base = workdir or Path(tmp)
            result = run_crawl(
                web,
                base,
                ["http://blog.test/"],
                {"POLITE_CRAWL_PURPOSES": [PURPOSE], "LOG_LEVEL": "WARNING"},
            )
            print(render(web, result))
            print(verified(base / "audit"))
    return result


def render(web: MockWeb, result: CrawlResult) -> str:
    fetched: dict[str, list[str]] = defaultdict(list)
    for hit in web.hits:
        fetched[hit.origin].append(hit.path)
    refused: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for rec in result.audit:
        if rec.get("type") == "decision" and rec["decision"] == "deny":
            parts = urlsplit(rec["url"])
            why = _why(rec)
            refused[f"{parts.scheme}://{parts.netloc}"].append((parts.path, rec["reason"], why))
    lines = [f"polite_crawl demo: a crawl declared for '{PURPOSE}' over a loopback mock web", ""]
    for origin, about in SITES.items():
        lines.append(f"{origin}  ({about})")
        for path in fetched.get(origin, []):
            lines.append(f"    fetched   {path}")
        for path, reason, why in refused.get(origin, []):
            lines.append(f"    REFUSED   {path:<24} {reason:<20} {why}")
        if origin not in fetched:
            lines.append("    (nothing was sent to this site, not even robots.txt)")
        lines.append("")
    counts = Counter(
        r["reason"]
        for r in result.audit
        if r.get("type") == "decision" and r["decision"] == "deny"
    )
    lines.append(
        f"crawl finished ({result.reason}); server saw {len(web.hits)} requests; "
        f"refused {sum(counts.values())}: "
        + (", ".join(f"{k} x{v}" for k, v in sorted(counts.items())) or "none")
    )
    return "\n".join(lines)


def verified(audit_dir: Path) -> str:
    """The demo checks its own audit log, as a platform would check an export."""
    from polite_crawl.audit.verify import Invalid
    from polite_crawl.audit.whole import verify_path

    try:
        reports, _ = verify_path(audit_dir, None, None)
    except Invalid as exc:
        return f"audit log INVALID: {exc}"
    logs = ", ".join(f"{r.platform} ({r.records})" for r in reports)
    return (
        f"audit log verified: {len(reports)} signed logs, records per log: {logs}\n"
        "(a platform checks its own with: polite-crawl audit export --platform ID ..., "
        "then polite-crawl audit verify)"
    )


def _why(rec: dict[str, object]) -> str:
    evidence = rec.get("evidence")
    if not isinstance(evidence, dict):
        return ""
    tos, robots = evidence.get("tos"), evidence.get("robots")
    tdm, signals = evidence.get("tdmrep"), evidence.get("signals")
    reason = str(rec.get("reason"))
    if reason.startswith("tos.") and isinstance(tos, dict) and "clause" in tos:
        return f"{tos['policy']} policy: {tos['source']['url']} ({tos['source']['date']})"
    if reason.startswith("tdmrep.") and isinstance(tdm, dict):
        rule = tdm.get("rule")
        if isinstance(rule, dict):
            return f"tdmrep.json rule {rule['index']}: {rule['location']} reserved"
        return str(tdm.get("error") or f"tdmrep.json answered {tdm.get('status')}")
    if reason.startswith("optout.") and isinstance(signals, dict):
        return f"{signals.get('from')} says {signals.get('directive')}"
    if not isinstance(robots, dict):
        return ""
    rule = robots.get("rule")
    if isinstance(rule, dict):
        return f"robots.txt line {rule['line']}: {rule['text']}"
    if robots.get("status") is not None:
        return f"robots.txt answered {robots['status']}"
    return str(robots.get("error", ""))
