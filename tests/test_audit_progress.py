"""Progress of `audit verify`, `export` and `report` on long logs (issue #20): a bar with rate
and time left on stderr, on a terminal only, for logs over 100,000 records."""

from __future__ import annotations

import io
import sys
from typing import TYPE_CHECKING

import pytest
from test_cli_output import audit_dir

from polite_crawl.audit import progress
from polite_crawl.cli.main import main

if TYPE_CHECKING:
    from pathlib import Path


__all__ = ["audit_dir"]  # the fixture (a small crawl's audit directory), used by name


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_is_drawn_only_on_a_terminal_and_only_for_long_logs() -> None:
    shown, piped, short = Terminal(), io.StringIO(), Terminal()
    for stream, total in ((shown, 250_000), (piped, 250_000), (short, 5_000)):
        bar = progress.Progress("verify x", total, stream)
        bar._last = -1.0  # draw now, whatever the interval
        bar.update(total // 2)
        bar.close(total)

    assert piped.getvalue() == short.getvalue() == ""
    out = shown.getvalue()
    assert out.startswith("\rverify x [###############               ]  50% 125,000 records ")
    assert "/s " in out
    assert " left" in out
    assert out.endswith("\n")
    assert "100% 250,000 records" in out


def test_the_record_count_is_estimated_from_the_first_mib(tmp_path: Path) -> None:
    log = tmp_path / "entries.jsonl"
    log.write_bytes(b"x" * 99 + b"\n")
    assert progress.estimate_records(log, 100 * 300_000) == 300_000


@pytest.mark.parametrize("command", ["verify", "export", "report"])
def test_verify_export_and_report_show_it_on_a_terminal(
    audit_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setattr(progress, "THRESHOLD", 0)  # this log is short: as if it were long
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    out = tmp_path / "out"
    args = {
        "verify": ["audit", "verify", str(audit_dir)],
        "export": ["audit", "export", str(audit_dir), "--platform", "_sites", "-o", str(out)],
        "report": ["audit", "report", str(audit_dir), "--platform", "_sites", "-o", str(out)],
    }[command]

    assert main(args) == 0

    assert f"\r{command} _sites [" in terminal.getvalue()
