"""`polite-crawl`: the console script. The same subcommands run as `scrapy polite ...`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polite_crawl.cli import audit, botauth, check, policies
from polite_crawl.settings import project_root

if TYPE_CHECKING:
    from collections.abc import Sequence

EXIT_OK, EXIT_DENIED = 0, 1
EXIT_BROKEN_PIPE = 128 + 13  # SIGPIPE, as the shell reports a tool that pipe closed on


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="polite-crawl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="crawl a bundled loopback mock web and show what is refused"
    )
    demo.add_argument(
        "--audit-dir",
        type=Path,
        default=Path("demo-audit"),
        help="where the demo keeps its audit log to explore afterwards (default: ./demo-audit; "
        "replaced by the next demo)",
    )
    check.add_parser(sub)
    sub.add_parser("version", help="print the version")
    policies.add_parser(sub)
    audit.add_parser(sub)
    botauth.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, settings: Any = None, process: Any = None) -> int:
    """`settings`/`process`: the project's, when run as `scrapy polite`."""
    try:
        try:
            status = _main(argv, settings, process)
        finally:
            sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
    except BrokenPipeError:
        # `polite-crawl ... | head`: the reader has what it wanted. End quietly, as a Unix
        # tool killed by SIGPIPE does; stdout goes to /dev/null so that Python's own flush at
        # exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE
    return status


def _main(argv: Sequence[str] | None, settings: Any, process: Any) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        # Imported here: the demo's mock web comes from polite_crawl.testing, which nothing
        # else on the command line needs.
        from polite_crawl.cli import demo

        try:
            result = demo.run(args.audit_dir)
        except demo.DemoError as exc:
            print(f"polite-crawl demo: {exc}", file=sys.stderr)
            return 2
        return EXIT_OK if result.returncode == 0 else EXIT_DENIED
    if args.command == "check":
        return check.run(args, settings, process)
    if args.command == "bot-auth":
        return botauth.run(args, settings)
    # Relative ones as the crawl reads them: from the project root (settings.project_root).
    root = project_root() if settings else Path.cwd()
    project_dirs = [
        root / Path(d).expanduser()
        for d in (settings.getlist("POLITE_CRAWL_POLICY_DIRS") if settings else [])
    ]
    if args.command == "policies":
        return policies.run(args, project_dirs)
    if args.command == "audit":
        return audit.run(args, project_dirs)
    from polite_crawl import __version__

    print(__version__)
    return EXIT_OK
