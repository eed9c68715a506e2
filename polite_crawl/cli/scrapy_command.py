"""`scrapy polite ...`: the polite-crawl subcommands inside a Scrapy project."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from polite_crawl.cli.main import main

if TYPE_CHECKING:
    import argparse


class PoliteCommand(ScrapyCommand):
    requires_project = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "<demo|check|version> [options]"

    def short_desc(self) -> str:
        return "polite_crawl: explain decisions, run the demo (see polite-crawl --help)"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        # Scrapy parses only its own options and hands everything else over, in order.
        argv = list(args)
        if not argv:
            raise UsageError("give a subcommand: demo, check or version")
        self.exitcode = main(argv, settings=self.settings, process=self.crawler_process)
