"""`python -m polite_crawl.cli`: the console script run by the interpreter at hand, as
`polite_crawl.testing.crawl.run_cli` does (no installed `polite-crawl` wrapper needed)."""

import sys

from polite_crawl.cli.main import main

sys.exit(main())
