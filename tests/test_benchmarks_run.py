"""Every benchmark still runs with its documented command and prints its figure (here with
tiny sizes: the figures themselves are measured by hand, see docs/benchmarks.md; no test
asserts a timing)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("module", "args", "figure"),
    [
        (
            "gate_throughput",
            ["--decisions", "2000", "--rounds", "1", "--origins", "20"],
            "every check",
        ),
        ("audit_throughput", ["--records", "2000", "--write", "1000"], "verify:"),
        ("scale", ["--origins", "2000"], "bytes per cached origin"),
        (
            "crawl_overhead",
            ["--runs", "1", "--hosts", "2", "--pages", "5", "--page-kib", "4"],
            "ratio B / A (polite_crawl / ROBOTSTXT_OBEY)",
        ),
        (
            "crawl_overhead",
            ["--runs", "1", "--hosts", "2", "--pages", "5", "--baseline", ".", "--aa"],
            "ratio B / A (baseline add-on / baseline add-on)",
        ),
        (
            "crawl_overhead",
            ["--runs", "1", "--hosts", "2", "--pages", "5", "--baseline", ".", "--web-bot-auth"],
            "ratio B / A (polite_crawl, signed / baseline add-on)",
        ),
        ("crawl_cpu", ["--rounds", "1", "--hosts", "2", "--pages", "5"], "CPU ratio"),
        ("botauth_sign", ["--requests", "50", "--rounds", "1"], "bot-auth signing:"),
        (
            "fleet",
            [
                "--runs",
                "1",
                "--hosts",
                "2",
                "--pages",
                "4",
                "--latency",
                "0",
                "--crawl-delay",
                "0.2",
            ],
            '"robots_per_origin_fleet": 1',
        ),
        ("fleet_redis", ["--origins", "200"], "keys: 600 (3.00 per origin)"),
        ("browser", ["--runs", "1", "--pages", "1", "--images", "2"], "overhead per browser"),
        ("browser", ["--runs", "1", "--pages", "1", "--images", "2", "--aa"], "ratio B / A"),
    ],
)
def test_a_benchmark_runs_and_prints_its_figure(
    module: str, args: list[str], figure: str, tmp_path: Path
) -> None:
    if module == "crawl_cpu" and len(os.sched_getaffinity(0)) < 2:
        pytest.skip("crawl_cpu needs two CPUs")
    if module == "browser" and shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (`make chromium`)")
    proc = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert figure in proc.stdout, proc.stdout
