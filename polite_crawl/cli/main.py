"""`polite-crawl`: the console script. The same subcommands run as `scrapy polite ...`."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polite_crawl.audit import commands as audit_commands
from polite_crawl.policy import commands as policy_commands

if TYPE_CHECKING:
    from collections.abc import Sequence

EXIT_OK, EXIT_DENIED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="polite-crawl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="crawl a bundled loopback mock web and show what is refused")
    check = sub.add_parser(
        "check", help="explain the decision for one URL (fetches only robots.txt and the like)"
    )
    check.add_argument("url")
    check.add_argument(
        "--purpose",
        action="append",
        default=[],
        dest="purposes",
        help="a declared purpose (repeatable); default: the project's",
    )
    check.add_argument(
        "--ua", help="robots.txt product token; default: the project's, or 'polite-crawl'"
    )
    check.add_argument(
        "--robots-file",
        type=Path,
        help="judge against this local robots.txt instead of fetching it",
    )
    check.add_argument("--json", action="store_true", help="print the decision as JSON")
    sub.add_parser("version", help="print the version")
    policy_commands.add_parser(sub)
    audit_commands.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, settings: Any = None, process: Any = None) -> int:
    """`settings`/`process`: the project's, when run as `scrapy polite`."""
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from polite_crawl import demo

        result = demo.run()
        return EXIT_OK if result.returncode == 0 else EXIT_DENIED
    if args.command == "check":
        return check(args, settings, process)
    project_dirs = [
        Path(d) for d in (settings.getlist("POLITE_CRAWL_POLICY_DIRS") if settings else [])
    ]
    if args.command == "policies":
        return policy_commands.run(args, project_dirs)
    if args.command == "audit":
        return audit_commands.run(args, project_dirs)
    from polite_crawl import __version__

    print(__version__)
    return EXIT_OK


def _fail(message: str) -> int:
    print(f"polite-crawl check: {message}", file=sys.stderr)
    return EXIT_USAGE


def check(args: argparse.Namespace, settings: Any, process: Any) -> int:
    from polite_crawl import __version__, explain
    from polite_crawl.core.context import Purpose
    from polite_crawl.settings import SettingsError

    project = settings if settings is not None else {}
    raw = args.purposes or project.get("POLITE_CRAWL_PURPOSES") or []
    if isinstance(raw, str):
        raw = raw.split(",")
    try:
        purposes = frozenset(Purpose(str(p).strip()) for p in raw)
    except ValueError as exc:
        valid = ", ".join(p.value for p in Purpose)
        return _fail(f"{exc}; valid purposes: {valid}")
    if not purposes:
        return _fail("declare what the crawl is for with --purpose (repeatable)")
    overrides: dict[str, Any] = {
        "POLITE_CRAWL_PURPOSES": sorted(p.value for p in purposes),
        "LOG_LEVEL": "ERROR",
    }
    token = args.ua or project.get("POLITE_CRAWL_USER_AGENT_TOKEN")
    if token or settings is None:
        token = token or "polite-crawl"
        overrides["POLITE_CRAWL_USER_AGENT_TOKEN"] = token
        overrides["USER_AGENT"] = f"{token}/{__version__} (polite-crawl check)"
    body = None
    if args.robots_file is not None:
        try:
            body = args.robots_file.read_bytes()
        except OSError as exc:
            return _fail(f"cannot read {args.robots_file}: {exc.strerror or exc}")
    with tempfile.TemporaryDirectory() as tmp:
        values = {k: project[k] for k in project if k.startswith("POLITE_CRAWL_")}
        values["USER_AGENT"] = project.get("USER_AGENT")
        values.update(overrides, POLITE_CRAWL_AUDIT_DIR=tmp)
        values.pop("LOG_LEVEL")
        try:
            decision = explain.offline(args.url, values, body, str(args.robots_file))
        except SettingsError as exc:
            return _fail(str(exc))
    if decision is None:  # robots.txt must be fetched: ask the gate inside a real crawl
        decision = explain.live(args.url, overrides, process)
        if decision is None:
            return _fail("the crawl did not start; see the log above")
    print(
        explain.as_json(args.url, decision)
        if args.json
        else explain.render(args.url, decision, purposes)
    )
    return EXIT_OK if decision.allowed else EXIT_DENIED
