from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, settings

from polite_crawl.testing.crawl import CrawlResult, run_crawl
from polite_crawl.testing.mockweb import MockWeb
from polite_crawl.testing.redisserver import RedisCluster, RedisServer

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

# Property tests take their example counts from a profile, so that one switch turns the quick
# run of `make test` into a long campaign (`make fuzz`, HYPOTHESIS_PROFILE=long). No deadline in
# either: two shared cores make per-example timings meaningless; hangs are caught by
# pytest-timeout, and the parsers bound their own work.
settings.register_profile("default", max_examples=300, deadline=None)
settings.register_profile(
    "long",
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
settings.load_profile(PROFILE)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A long campaign runs as long as it needs: a module's own timeout marker must not cut it.
    if PROFILE == "long":
        for item in items:
            item.add_marker(pytest.mark.timeout(0), append=False)


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


@pytest.fixture
def redis_cluster(tmp_path: Path) -> Iterator[RedisCluster]:
    """A real three-master Redis Cluster of its own for the test, stopped after it."""
    cluster = RedisCluster(tmp_path / "cluster")
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server of its own for the test, stopped after it."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()
