"""What the command line prints: read by a person (`audit stats` as a table), or piped into a
reader that stops early (`polite-crawl ... | head`), which must end quietly, whatever the
command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from polite_crawl.testing.crawl import run_cli
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from polite_crawl.testing.crawl import CrawlResult

SITE = "http://site.test"


@pytest.fixture
def audit_dir(mockweb: MockWeb, crawl: Callable[..., CrawlResult], tmp_path: Path) -> Path:
    mockweb.add(SITE + "/robots.txt", Resp(body="User-agent: *\nDisallow: /private\n"))
    mockweb.add(SITE + "/", page("/a", "/private/b"))
    mockweb.add(SITE + "/a", page())
    result = crawl([SITE + "/"])
    assert result.returncode == 0, result.log
    return tmp_path / "crawl0" / "audit"


def into_a_closed_pipe(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command whose stdout is a pipe nobody reads any more (`| head` once head left)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            list(args), stdout=write, stderr=subprocess.PIPE, text=True, cwd=cwd, check=False
        )
    finally:
        os.close(write)


def test_every_command_piped_into_head_ends_quietly(audit_dir: Path, tmp_path: Path) -> None:
    robots = tmp_path / "robots.txt"
    robots.write_text("User-agent: *\nDisallow: /x\n")
    cli = [sys.executable, "-m", "polite_crawl.cli"]
    commands = [
        [*cli, "--help"],
        [*cli, "version"],
        [*cli, "policies", "list"],
        [*cli, "policies", "show", "wikimedia"],
        [
            *cli,
            "check",
            SITE + "/x/1",
            "--robots-file",
            str(robots),
            "--ua",
            "examplebot",
            "--purpose",
            "research",
        ],
        [*cli, "audit", "stats", str(audit_dir)],
        [*cli, "audit", "stats", str(audit_dir), "--json"],
        [*cli, "audit", "verify", str(audit_dir)],
        [sys.executable, "-m", "scrapy", "polite", "policies", "list"],
        [sys.executable, "-m", "scrapy", "polite", "version"],
    ]
    for command in commands:
        proc = into_a_closed_pipe(*command, cwd=tmp_path)

        assert proc.stderr == "", (command, proc.stderr)
        # 141 as for SIGPIPE; argparse's --help swallows the error itself and exits 0.
        assert proc.returncode in (0, 141), (command, proc.returncode)


def test_audit_stats_is_a_table_with_json_on_request(audit_dir: Path) -> None:
    table = run_cli("audit", "stats", str(audit_dir))
    machine = run_cli("audit", "stats", str(audit_dir), "--json")

    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["PLATFORM", "RECORD", "REASON", "COUNT"]
    assert "_sites    allow      allowed                2" in lines
    assert "_sites    deny       robots.disallowed      1" in lines
    assert "_sites    run.start                         1" in lines
    assert lines[-1].endswith("records in 1 log(s); --json for the machine form")
    counts = json.loads(machine.stdout)["_sites"]
    assert counts["allow allowed"] == 2
    assert counts["deny robots.disallowed"] == 1
