"""`polite-crawl`: the console script. The same subcommands run as `scrapy polite ...`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polite_crawl.cli import audit, botauth, check, policies

if TYPE_CHECKING:
    from collections.abc import Sequence

EXIT_OK, EXIT_DENIED = 0, 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="polite-crawl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="crawl a bundled loopback mock web and show what is refused")
    check.add_parser(sub)
    sub.add_parser("version", help="print the version")
    policies.add_parser(sub)
    audit.add_parser(sub)
    botauth.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, settings: Any = None, process: Any = None) -> int:
    """`settings`/`process`: the project's, when run as `scrapy polite`."""
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        # Imported here: the demo's mock web comes from polite_crawl.testing, which nothing
        # else on the command line needs.
        from polite_crawl.cli import demo

        result = demo.run()
        return EXIT_OK if result.returncode == 0 else EXIT_DENIED
    if args.command == "check":
        return check.run(args, settings, process)
    if args.command == "bot-auth":
        return botauth.run(args, settings)
    project_dirs = [
        Path(d) for d in (settings.getlist("POLITE_CRAWL_POLICY_DIRS") if settings else [])
    ]
    if args.command == "policies":
        return policies.run(args, project_dirs)
    if args.command == "audit":
        return audit.run(args, project_dirs)
    from polite_crawl import __version__

    print(__version__)
    return EXIT_OK
