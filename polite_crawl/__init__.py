"""polite_crawl: make any Scrapy crawler provably well-behaved.

Enable with ``ADDONS = {"polite_crawl.Addon": 0}`` and ``POLITE_CRAWL_PURPOSES``.
See https://polite-crawl.readthedocs.io/ (docs/ in the source tree).
"""

from __future__ import annotations

import typing

if typing.TYPE_CHECKING:
    from typing import Any

    from polite_crawl.core.context import Origin, RequestContext
    from polite_crawl.core.decision import Decision, Reason, Verdict
    from polite_crawl.core.gate import Gate
    from polite_crawl.core.purposes import Kind, Purpose
    from polite_crawl.exceptions import PolicyViolation, SettingsError
    from polite_crawl.middlewares import PoliteDownloaderMiddleware, PoliteSpiderMiddleware
    from polite_crawl.shell.addon import Addon

__version__ = "0.1.0.dev0"

# Each public name, and the module it lives in. They are imported on first use (PEP 562), not
# with the package: a process that imports only a submodule (a plain `scrapy` run imports the
# `scrapy polite` command's module) does not load the add-on, its pydantic models and policies
# (#21: about 0.3 s of start-up CPU).
_WHERE = {
    "Addon": "polite_crawl.shell.addon",
    "Decision": "polite_crawl.core.decision",
    "Gate": "polite_crawl.core.gate",
    "Kind": "polite_crawl.core.purposes",
    "Origin": "polite_crawl.core.context",
    "PolicyViolation": "polite_crawl.exceptions",
    "PoliteDownloaderMiddleware": "polite_crawl.middlewares",
    "PoliteSpiderMiddleware": "polite_crawl.middlewares",
    "Purpose": "polite_crawl.core.purposes",
    "Reason": "polite_crawl.core.decision",
    "RequestContext": "polite_crawl.core.context",
    "SettingsError": "polite_crawl.exceptions",
    "Verdict": "polite_crawl.core.decision",
}

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


# Hidden from type checkers, which read the imports above instead: a module __getattr__ they
# can see answers Any for every name, and a user's `from polite_crawl import Adon` would pass.
if not typing.TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        module = _WHERE.get(name)
        if module is None:
            raise AttributeError(f"module 'polite_crawl' has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # looked up once
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
