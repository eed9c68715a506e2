from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from polite_crawl.testing.crawl import CrawlResult, run_crawl
from polite_crawl.testing.mockweb import MockWeb

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

GUARD_DIR = Path(__file__).parent / "netguard"
sys.path.insert(0, str(GUARD_DIR))
from tests_netguard_impl import install  # noqa: E402

# Nothing leaves loopback: this process, and (through PYTHONPATH/sitecustomize) every child.
install()
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in [str(GUARD_DIR), os.environ.get("PYTHONPATH", "")] if p
)
for _var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
    os.environ.pop(_var, None)

Crawl = "Callable[..., CrawlResult]"


@pytest.fixture
def mockweb() -> Iterator[MockWeb]:
    with MockWeb() as web:
        yield web


@pytest.fixture
def crawl(mockweb: MockWeb, tmp_path: Path) -> Callable[..., CrawlResult]:
    counter = iter(range(1000))

    def _crawl(
        start_urls: list[str], settings: dict[str, Any] | None = None, **kwargs: Any
    ) -> CrawlResult:
        settings = {"POLITE_CRAWL_PURPOSES": ["archiving"], **(settings or {})}
        return run_crawl(
            mockweb, tmp_path / f"crawl{next(counter)}", start_urls, settings, **kwargs
        )

    return _crawl
