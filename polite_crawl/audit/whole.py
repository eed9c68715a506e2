"""Verifying an audit directory or an export as a whole: each log (verify.py), the evidence its
records cite, the heads over the logs (verify_heads.py), an export's manifest (bundle.py) and,
given one, a kept-checkpoints file (since.py). The order is docs/format.md's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.audit import bundle, fleet
from polite_crawl.audit.heads import HEADS
from polite_crawl.audit.since import Kept, check_since
from polite_crawl.audit.verify import check_evidence, verify_log
from polite_crawl.audit.verify_heads import check_heads

if TYPE_CHECKING:
    from pathlib import Path

    from polite_crawl.audit.verify import LogReport


def verify_path(
    path: Path,
    pinned: Path | None,
    fingerprint: str | None,
    *,
    since: Path | None = None,
    progress: bool = False,
    only: str | None = None,
) -> tuple[list[LogReport], bytes]:
    """Every rule; raises Invalid on the first problem. only: verify that one log of the
    directory (with its heads) rather than all of them."""
    dirs = bundle.log_dirs(path)
    export = bundle.is_bundle(path)
    if export:
        bundle.check_files(path)
    public = bundle.public_key(path, pinned, fingerprint)
    if export:
        bundle.check_signature(path, public)
    kept = Kept(since, public) if since is not None else None
    names = [only] if only is not None else list(dirs)
    reports = {
        name: verify_log(dirs[name], name, public, progress=progress, keep_leaves=kept is not None)
        for name in names
    }
    for report in reports.values():
        if export:
            check_evidence(path / "evidence", report.evidence, "robots.txt")
            check_evidence(path / "policies", report.policies, "policy file", ".toml")
            bundle.check_fields(path, report, public)
        else:
            check_evidence(path / "evidence", report.evidence | report.policies, "evidence")
    if not reports and not (path / HEADS).exists():
        # A directory no crawl has written to yet, or one emptied: only a kept checkpoint tells.
        if kept is not None:
            check_since(kept, reports, [], export=None)
        return [], public
    heads = check_heads(
        path / HEADS,
        list(reports.values()),
        public,
        whole_directory=not export and only is None,
    )
    if kept is not None:
        check_since(kept, reports, heads, export=next(iter(dirs)) if export else None)
    return list(reports.values()), public


def verify_any(
    path: Path,
    pinned: Path | None,
    fingerprint: str | None,
    since: Path | None = None,
    *,
    progress: bool = False,
) -> tuple[list[LogReport], bytes]:
    """An audit directory, an export or a fleet export: every rule; Invalid on the first
    problem."""
    if not fleet.is_fleet(path):
        return verify_path(path, pinned, fingerprint, since=since, progress=progress)
    public = fleet.pinned_key(path, pinned, fingerprint)

    def one(sub: Path) -> LogReport:
        reports, _ = verify_path(sub, pinned, fingerprint, progress=progress)
        return reports[0]

    reports, _ = fleet.verify(path, public, one)
    return reports, public
