"""What a Scrapy process loads of polite_crawl when it does not use the add-on: Scrapy imports
every installed command's module (its `scrapy.commands` entry points) whenever it starts, so
`scrapy polite`'s module must not pull in the add-on, its policies and pydantic models, or the
audit tools. Before #21's fourth session it did, and every `scrapy` run of a machine with
polite_crawl installed paid about 0.3 s of CPU for it, the add-on enabled or not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# The command's module and the packages above it: all a plain `scrapy` run may load.
COMMAND_ONLY = {"polite_crawl", "polite_crawl.cli", "polite_crawl.cli.scrapy_command"}


# `python -m scrapy ARGS`, and then the names of every module the process has loaded. (Not
# -X importtime: it does not see modules loaded through importlib, as entry points are.)
RUN_SCRAPY = """
import atexit, json, runpy, sys
atexit.register(lambda: print(json.dumps(sorted(sys.modules))))
sys.argv = ["scrapy", *sys.argv[1:]]
runpy.run_module("scrapy", run_name="__main__")
"""


def _loaded(args: list[str], cwd: Path) -> set[str]:
    """The modules a real `scrapy` run in cwd has loaded by its exit."""
    proc = subprocess.run(
        [sys.executable, "-c", RUN_SCRAPY, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(json.loads(proc.stdout.splitlines()[-1]))


def test_a_plain_scrapy_run_loads_only_the_command_module(tmp_path: Path) -> None:
    loaded = _loaded(["version"], tmp_path)
    assert "polite_crawl.cli.scrapy_command" in loaded  # the entry point is installed
    ours = {m for m in loaded if m == "polite_crawl" or m.startswith("polite_crawl.")}
    assert ours == COMMAND_ONLY
    assert not {"http_sf", "http_message_signatures", "tomllib"} & loaded  # the add-on's own


def test_importing_the_package_loads_the_add_on_only_when_it_is_used(tmp_path: Path) -> None:
    code = (
        "import sys, polite_crawl\n"
        "assert 'polite_crawl.shell.addon' not in sys.modules\n"
        "from polite_crawl import Addon, Reason\n"
        "assert Addon.__module__ == 'polite_crawl.shell.addon', Addon\n"
        "assert Reason.ALLOWED.value == 'allowed'\n"
        "assert set(polite_crawl.__all__) == {*polite_crawl._WHERE, '__version__'}\n"
        "try:\n"
        "    polite_crawl.NoSuchName\n"
        "except AttributeError as exc:\n"
        "    assert 'NoSuchName' in str(exc)\n"
        "else:\n"
        "    raise AssertionError('an unknown name resolved')\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, timeout=60)


def test_the_add_on_loads_the_signing_libraries_only_to_sign(tmp_path: Path) -> None:
    # Web Bot Auth is off unless asked for: its RFC 9421 and Structured Field libraries are
    # loaded when a crawl signs (tests/test_crawl_botauth.py crawls that way), not before.
    code = (
        "import sys\n"
        "import polite_crawl.shell.addon, polite_crawl.middlewares, polite_crawl.settings\n"
        "from polite_crawl.settings import PoliteSettings\n"
        "PoliteSettings(purposes=['search-indexing'], "
        "signature_agent='https://crawler.example')\n"
        "print(sorted(m for m in ('http_sf', 'http_message_signatures') if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_a_type_checker_still_rejects_a_name_the_package_does_not_have(tmp_path: Path) -> None:
    # The lazy names must stay visible to type checkers as the imports they were, and a typo
    # must stay an error: a module-level __getattr__ that mypy can see answers Any for any name,
    # so `from polite_crawl import Adon` would pass a user's strict type check (py.typed).
    user = tmp_path / "user.py"
    user.write_text(
        "from polite_crawl import Addon, NoSuchName, Reason\n"
        "reason: Reason = Reason.ALLOWED\n"
        "addon: type[Addon] = Addon\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(user)],
        cwd=Path(__file__).resolve().parent.parent,  # this checkout's package
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    errors = [line for line in proc.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, proc.stdout + proc.stderr
    assert 'Module "polite_crawl" has no attribute "NoSuchName"' in errors[0], errors
