"""The command line: the `polite-crawl` console script and the `scrapy polite` command.

- cli/main.py: the console script's parser and the dispatch of its subcommands
- cli/check.py: `check URL`, the gate's decision for one URL, offline or in a real crawl
- cli/demo.py: `demo`, a crawl of a bundled loopback mock web and what the gate refused
- cli/audit.py: `audit verify | export | stats | report` over polite_crawl/audit/
- cli/policies.py: `policies list | show | validate | schema` over polite_crawl/policy/
- cli/scrapy_command.py: `scrapy polite ...`, the same subcommands with the project's settings

It sits above everything else: it imports the core, the audit log and the policies, and none of
them imports it. See docs/reference.md, "Command line".
"""
