"""`scrapy polite ...`: the polite-crawl subcommands inside a Scrapy project."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

if TYPE_CHECKING:
    from collections.abc import Iterator


def _subcommands() -> Iterator[tuple[str, str]]:
    """(name, help) of each polite-crawl subcommand, from the console script's own parser."""
    # Imported here, not with this module: Scrapy imports every command's module whenever it
    # starts (its entry points), and the console script's imports load the whole add-on, the
    # policies and the audit tools: about 0.3 s of CPU for every `scrapy` run, the add-on's
    # or not (tests/test_startup_imports.py).
    from polite_crawl.cli.main import build_parser

    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                yield choice.dest, choice.help or ""


class PoliteCommand(ScrapyCommand):
    requires_project = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "<" + "|".join(name for name, _ in _subcommands()) + "> [options]"

    def short_desc(self) -> str:
        return "polite_crawl: explain decisions, policies, audit logs, the demo"

    def long_desc(self) -> str:
        # One paragraph: Scrapy's help formatter wraps the description and drops newlines.
        listed = "; ".join(f"{name}: {text}" for name, text in _subcommands())
        return (
            f"The polite-crawl subcommands with the project's settings applied. {listed}. "
            "`scrapy polite SUBCOMMAND --help` for a subcommand's options."
        )

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        self._help = parser.format_help
        # Scrapy's parser answers -h wherever it is; after a subcommand the question is about
        # that subcommand, so it is taken here and handed on (the parser resolves conflicts).
        parser.add_argument(
            "-h", "--help", action="store_true", dest="polite_help", help="show this help"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        # Scrapy parses only its own options and hands everything else over, in order.
        argv = list(args)
        if getattr(opts, "polite_help", False):
            if not argv:
                print(self._help())
                return
            argv.append("--help")
        if not argv:
            names = ", ".join(name for name, _ in _subcommands())
            raise UsageError(f"give a subcommand: {names}")
        from polite_crawl.cli.main import main  # see _subcommands

        try:
            self.exitcode = main(argv, settings=self.settings, process=self.crawler_process)
        except SystemExit as exc:  # argparse's --help and usage errors
            self.exitcode = exc.code if isinstance(exc.code, int) else 2
