"""polite_crawl: make any Scrapy crawler provably well-behaved.

Enable with ``ADDONS = {"polite_crawl.Addon": 0}`` and ``POLITE_CRAWL_PURPOSES``.
See https://polite-crawl.readthedocs.io/ (docs/ in the source tree).
"""

from __future__ import annotations

from polite_crawl.core.context import Origin, RequestContext
from polite_crawl.core.decision import Decision, Reason, Verdict
from polite_crawl.core.gate import Gate
from polite_crawl.core.purposes import Kind, Purpose
from polite_crawl.exceptions import PolicyViolation, SettingsError
from polite_crawl.middlewares import PoliteDownloaderMiddleware, PoliteSpiderMiddleware
from polite_crawl.shell.addon import Addon

__version__ = "0.1.0.dev0"

__all__ = [
    "Addon",
    "Decision",
    "Gate",
    "Kind",
    "Origin",
    "PolicyViolation",
    "PoliteDownloaderMiddleware",
    "PoliteSpiderMiddleware",
    "Purpose",
    "Reason",
    "RequestContext",
    "SettingsError",
    "Verdict",
    "__version__",
]
