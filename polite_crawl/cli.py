"""`polite-crawl`: the console script. The same subcommands run as `scrapy polite ...`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

EXIT_OK, EXIT_DENIED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="polite-crawl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="crawl a bundled loopback mock web and show what is refused")
    check = sub.add_parser("check", help="explain the decision for one URL")
    check.add_argument("url")
    check.add_argument("--purpose", action="append", default=[], dest="purposes")
    check.add_argument("--ua", default="examplebot", help="robots.txt product token")
    check.add_argument(
        "--robots-file",
        type=Path,
        help="judge against this local robots.txt instead of fetching it",
    )
    sub.add_parser("version", help="print the version")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from polite_crawl import demo

        result = demo.run()
        return EXIT_OK if result.returncode == 0 else EXIT_DENIED
    if args.command == "check":
        return check(args)
    from polite_crawl import __version__

    print(__version__)
    return EXIT_OK


def check(args: argparse.Namespace) -> int:
    from polite_crawl.core.checks.robots import RobotsCheck
    from polite_crawl.core.checks.scheme import SchemeCheck
    from polite_crawl.core.context import Purpose, RequestContext
    from polite_crawl.core.gate import Gate, Pending
    from polite_crawl.robots.state import FetchResult, RobotsStore

    try:
        purposes = frozenset(Purpose(p) for p in args.purposes) or frozenset(Purpose)
    except ValueError as exc:
        print(f"polite-crawl check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.robots_file is None:
        print(
            "polite-crawl check: fetching robots.txt needs a crawl; give --robots-file "
            "(URL mode arrives with the robots.txt issue)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        body = args.robots_file.read_bytes()
    except OSError as exc:
        print(f"polite-crawl check: cannot read {args.robots_file}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    ctx = RequestContext.build(args.url, purposes)
    store = RobotsStore(args.ua, clock=time.time)
    store.record(
        ctx.origin,
        FetchResult(
            str(args.robots_file), str(args.robots_file), 200, body, fetched_at=time.time()
        ),
    )
    decision = Gate([SchemeCheck(), RobotsCheck(store)]).decide(ctx)
    assert not isinstance(decision, Pending)
    print(json.dumps({"url": args.url, **decision.to_record()}, indent=2))
    return EXIT_OK if decision.allowed else EXIT_DENIED


if __name__ == "__main__":
    sys.exit(main())
