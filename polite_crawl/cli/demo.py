"""`polite-crawl demo`: a Clearview-like crawl of a bundled loopback mock web, and what the gate
made of it. Everything is served by a local proxy; nothing leaves the machine."""

from __future__ import annotations

import shlex
import shutil
import sys
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


# Where the demo keeps its audit directory, relative to the working directory (the checkout for
# `make demo`; git-ignored there), and where the commands it suggests write.
AUDIT_DIR = Path("demo-audit")
EXPORT_DIR = Path("demo-export")
REPORT = Path("demo-report.html")
EXPLORE_PLATFORM = "twitter"  # the log with the refusals worth a look
# In a directory the demo made: it replaces it on the next run, and no other directory.
MARKER = ".polite-crawl-demo"


class DemoError(Exception):
    pass


def run(audit_dir: Path = AUDIT_DIR) -> CrawlResult:
    audit_dir = _fresh(audit_dir)
    with MockWeb() as web:
        web.routes.update(mock_web().routes)
        with tempfile.TemporaryDirectory() as tmp:
            result = run_crawl(
                web,
                Path(tmp),
                ["http://blog.test/"],
                {
                    "POLITE_CRAWL_PURPOSES": [PURPOSE],
                    "POLITE_CRAWL_AUDIT_DIR": str(audit_dir.resolve()),
                    "LOG_LEVEL": "ERROR",  # the new key's WARNING: the demo says it below
                },
            )
            (audit_dir / MARKER).write_text(
                "made by polite-crawl demo; replaced on its next run\n"
            )
            print(render(web, result))
            print(verified(audit_dir))
            print(try_next(audit_dir))
    return result


def _fresh(audit_dir: Path) -> Path:
    """The demo's audit directory, emptied of an earlier demo's run; never someone else's."""
    if audit_dir.exists():
        if not (audit_dir / MARKER).exists() and any(audit_dir.iterdir()):
            raise DemoError(
                f"{audit_dir} exists and was not made by the demo; move it away, or give "
                "another directory with --audit-dir"
            )
        shutil.rmtree(audit_dir)
    return audit_dir


def try_next(audit_dir: Path) -> str:
    """The three commands to run next on what the demo just did, each runnable as printed from
    the working directory."""
    from polite_crawl.audit.keys import PUBLIC_FILE, fingerprint, read_public

    pin = "sha256:" + fingerprint(read_public(audit_dir / PUBLIC_FILE))
    cli = _command()
    where = _shown(audit_dir)
    export = _shown(audit_dir.parent / EXPORT_DIR)
    report = _shown(audit_dir.parent / REPORT)
    return "\n".join(
        [
            f"The audit log is kept in {where}/ (replaced by the next demo). Try next:",
            f"  {cli} audit export {where} --platform {EXPLORE_PLATFORM} -o {export}",
            f"  {cli} audit verify {export} --fingerprint {pin}",
            f"  {cli} audit report {export} --platform {EXPLORE_PLATFORM} --fingerprint {pin} "
            f"-o {report}",
        ]
    )


def _command() -> str:
    """How to call polite-crawl from here: by name when the shell finds this one."""
    script = Path(sys.executable).with_name("polite-crawl")
    found = shutil.which("polite-crawl")
    if found is not None and Path(found).resolve() == script.resolve():
        return "polite-crawl"
    if not script.exists():
        return f"{shlex.quote(sys.executable)} -m polite_crawl.cli"
    return shlex.quote(_shown(script))


def _shown(path: Path) -> str:
    """path relative to the working directory when it is below it, else absolute."""
    absolute = path.resolve()
    try:
        return str(absolute.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(absolute)


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
    return f"audit log verified: {len(reports)} signed logs, records per log: {logs}"


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
