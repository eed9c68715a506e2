"""Run a real Scrapy crawl in a child process against a MockWeb.

The child gets `http_proxy`/`https_proxy` pointed at the mock web, a settings module written
from the given dict, and reports back its stats, items and log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from polite_crawl.testing.mockweb import MockWeb

BASE_SETTINGS: dict[str, Any] = {
    "ADDONS": {"polite_crawl.Addon": 0},
    "USER_AGENT": "examplebot/1.0 (+https://example.org/bot)",
    "LOG_LEVEL": "INFO",
    "TELNETCONSOLE_ENABLED": False,
    "DOWNLOAD_TIMEOUT": 5,
    "RETRY_ENABLED": False,
    "CONCURRENT_REQUESTS": 8,
    "EXTENSIONS": {"polite_crawl.testing.statsfile.StatsFile": 0},
}


@dataclass
class CrawlResult:
    returncode: int
    log: str
    stats: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    peak_rss: int = 0  # bytes: the crawl process's peak resident memory

    def stat(self, key: str) -> Any:
        return self.stats.get(key, 0)


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `polite-crawl ARGS...` in a child process with this Python; never raises on exit."""
    cmd = [sys.executable, "-m", "polite_crawl.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, check=False)


def _file_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def read_audit(audit_dir: Path) -> list[dict[str, Any]]:
    """Every record of every log in an audit directory (platform logs in name order)."""
    out: list[dict[str, Any]] = []
    for entries in sorted(audit_dir.glob("logs/*/entries.jsonl")):
        data = entries.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]  # a torn last line is not a record
        out += [json.loads(line) for line in complete.split(b"\n") if line]
    return out


def write_settings(directory: Path, settings: dict[str, Any]) -> None:
    lines = [f"{k} = {v!r}" for k, v in settings.items()]
    (directory / "crawl_settings.py").write_text("\n".join(lines) + "\n")


@dataclass
class Prepared:
    """A crawl ready to start: the command, its environment and where it writes."""

    cmd: list[str]
    env: dict[str, str]
    workdir: Path
    audit_dir: Path


def prepare_crawl(
    web: MockWeb,
    workdir: Path,
    start_urls: list[str],
    settings: dict[str, Any] | None = None,
    *,
    spider: str = "polite_crawl.testing.spiders:FollowAllSpider",
    spider_code: str | None = None,
    args: list[str] | None = None,
) -> Prepared:
    workdir.mkdir(parents=True, exist_ok=True)
    merged = dict(BASE_SETTINGS)
    merged.update(
        {
            "MOCKWEB_START_URLS": start_urls,
            "MOCKWEB_STATS_FILE": str(workdir / "stats.json"),
            "FEEDS": {str(workdir / "items.jsonl"): {"format": "jsonlines", "overwrite": True}},
            "POLITE_CRAWL_AUDIT_DIR": str(workdir / "audit"),
        }
    )
    merged.update(settings or {})
    write_settings(workdir, merged)
    spider_file = workdir / "run_spider.py"
    if spider_code is None:
        # runspider only counts spider classes defined in the file itself.
        module, _, cls = spider.partition(":")
        spider_code = f"from {module} import {cls}\n\n\nclass RunSpider({cls}):\n    pass\n"
    spider_file.write_text(spider_code)
    env = {
        **os.environ,
        **web.env(),
        "SCRAPY_SETTINGS_MODULE": "crawl_settings",
        "PYTHONPATH": os.pathsep.join([str(workdir), os.environ.get("PYTHONPATH", "")]),
    }
    cmd = [sys.executable, "-m", "scrapy", "runspider", str(spider_file), *(args or [])]
    return Prepared(cmd, env, workdir, Path(merged["POLITE_CRAWL_AUDIT_DIR"]))


def start_crawl(prepared: Prepared, **popen: Any) -> subprocess.Popen[bytes]:
    """Start a prepared crawl in the background, its output discarded (the stats, items and
    audit files in its work directory say what it did)."""
    return subprocess.Popen(
        prepared.cmd,
        cwd=prepared.workdir,
        env=prepared.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **popen,
    )


def run_crawl(
    web: MockWeb,
    workdir: Path,
    start_urls: list[str],
    settings: dict[str, Any] | None = None,
    *,
    spider: str = "polite_crawl.testing.spiders:FollowAllSpider",
    spider_code: str | None = None,
    args: list[str] | None = None,
    timeout: float = 120,
    max_file_bytes: int | None = None,
) -> CrawlResult:
    """max_file_bytes: a file-size limit for the child (RLIMIT_FSIZE), to make its writes fail
    as on a full disk."""
    prepared = prepare_crawl(
        web, workdir, start_urls, settings, spider=spider, spider_code=spider_code, args=args
    )
    cmd, env = prepared.cmd, prepared.env
    proc = subprocess.run(
        cmd,
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=_file_limit(max_file_bytes) if max_file_bytes else None,
    )
    result = CrawlResult(proc.returncode, proc.stdout + proc.stderr)
    stats_file = workdir / "stats.json"
    if stats_file.exists():
        data = json.loads(stats_file.read_text())
        result.stats, result.reason = data["stats"], data["reason"]
        result.peak_rss = data.get("peak_rss", 0)
    items_file = workdir / "items.jsonl"
    if items_file.exists():
        result.items = [json.loads(line) for line in items_file.read_text().splitlines() if line]
    result.audit = read_audit(prepared.audit_dir)
    return result


def run_command(cwd: Path, web: MockWeb, cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """A command in `cwd` as a user would run it there, its traffic through the mock web: no
    settings module forced on it (a Scrapy project finds its own from scrapy.cfg)."""
    env = {**os.environ, **web.env()}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    return subprocess.run(
        list(cmd), cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def run_scrapy(cwd: Path, web: MockWeb, *args: str) -> subprocess.CompletedProcess[str]:
    """`scrapy ARGS` in `cwd` (run_command)."""
    return run_command(cwd, web, [sys.executable, "-m", "scrapy", *args])
