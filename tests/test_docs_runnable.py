"""Every shell example in README.md and docs/ marked runnable (`<!-- runnable -->` on the line
before its fence) is run as written, against the demo's audit directory, so that the docs
cannot drift from the commands again (issue #20).

Each file's blocks run in order in one directory holding what the examples assume: the demo's
audit directory as `polite_crawl_audit/` and its `public.key` (the copy a platform obtained out
of band). `sha256:HEX` stands for that key's fingerprint. A command exits 0 unless its comment
says `exit N`; none may print a traceback. Traffic goes to a loopback mock web, never out.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from polite_crawl.testing.crawl import run_cli

if TYPE_CHECKING:
    from polite_crawl.testing.mockweb import MockWeb

ROOT = Path(__file__).resolve().parent.parent
MARK = "<!-- runnable -->"
FENCE = re.compile(r"^```(?:sh|bash|shell)\s*$")


@dataclass(frozen=True)
class Command:
    where: str  # file:line
    text: str
    exit: int


def runnable_commands(path: Path) -> list[Command]:
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Command] = []
    for i, line in enumerate(lines):
        if line.strip() != MARK:
            continue
        fence = lines[i + 1] if i + 1 < len(lines) else ""
        assert FENCE.match(fence), f"{path}:{i + 1}: {MARK} must stand right above a ```sh fence"
        for j in range(i + 2, len(lines)):
            text = lines[j]
            if text.startswith("```"):
                break
            if not text.strip() or text.lstrip().startswith("#"):
                continue
            code, _, comment = text.partition("  #")
            want = re.search(r"\bexit (\d+)", comment)
            rel = path.relative_to(ROOT)
            out.append(Command(f"{rel}:{j + 1}", code.strip(), int(want[1]) if want else 0))
    return out


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


MARKED = [p for p in documents() if runnable_commands(p)]


def test_the_readme_and_the_audit_docs_have_runnable_examples() -> None:
    # The marker cannot quietly vanish from the examples a new user copies first.
    names = {p.name for p in MARKED}
    assert {"README.md", "audit.md"} <= names, names


@pytest.fixture(scope="module")
def demo_audit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("demo")
    made = subprocess.run(
        [sys.executable, "-m", "polite_crawl.cli", "demo"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    return where / "demo-audit"


@pytest.fixture
def workdir(demo_audit: Path, tmp_path: Path) -> Path:
    shutil.copytree(demo_audit, tmp_path / "polite_crawl_audit", ignore=_lock)
    shutil.copy(demo_audit / "public.key", tmp_path / "public.key")
    return tmp_path


def _lock(directory: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "LOCK"]


def fingerprint(audit: Path) -> str:
    proc = run_cli("audit", "verify", str(audit))
    found = re.search(r"sha256:[0-9a-f]{64}", proc.stdout)
    assert found is not None, proc.stdout + proc.stderr
    return found[0]


@pytest.mark.parametrize("doc", MARKED, ids=[p.name for p in MARKED])
def test_runnable_examples_run_as_written(doc: Path, workdir: Path, mockweb: MockWeb) -> None:
    key = fingerprint(workdir / "polite_crawl_audit")
    bin_dir = str(Path(sys.executable).parent)  # this venv's polite-crawl and scrapy
    env = {**os.environ, **mockweb.env(), "PATH": bin_dir + os.pathsep + os.environ["PATH"]}
    for command in runnable_commands(doc):
        text = command.text.replace("sha256:HEX", key)
        proc = subprocess.run(
            ["bash", "-c", text],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        shown = f"{command.where}: {command.text}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        assert proc.returncode == command.exit, shown
        assert "Traceback" not in proc.stderr, shown
