"""A page as a person's browser shows it: Debian's headless Chromium, for the report tests."""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

WINDOW = (1200, 3000)  # wide as a desktop browser, tall enough for a report's first screens


def _run(page: Path, *args: str) -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "make test installs Debian's chromium; run it through make test"
    cmd = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={page.parent / 'chromium-profile'}",
        *args,
        page.as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def render_in_chromium(page: Path, screenshot: Path | None = None) -> str:
    """The DOM after Chromium loaded the file; with `screenshot`, also a PNG of the window."""
    if screenshot is not None:
        _run(page, f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--screenshot={screenshot}")
        assert screenshot.exists()
    return _run(page, "--dump-dom")
