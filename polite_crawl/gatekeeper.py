"""Everything the decision needs, assembled from a validated Config. Scrapy-free, so that the
middleware and `polite-crawl check` decide with exactly the same gate."""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from polite_crawl.core.checks.requirements import RequirementsCheck
from polite_crawl.core.checks.robots import RobotsCheck
from polite_crawl.core.checks.scheme import SchemeCheck
from polite_crawl.core.checks.tos import TosCheck
from polite_crawl.core.context import Kind, RequestContext
from polite_crawl.core.gate import Gate
from polite_crawl.policy.resolver import Resolver
from polite_crawl.robots.state import RobotsStore
from polite_crawl.settings import open_robots_cache

if TYPE_CHECKING:
    from collections.abc import Callable

    from polite_crawl.core.decision import Decision
    from polite_crawl.core.gate import Pending
    from polite_crawl.settings import Config


@dataclass
class Gatekeeper:
    config: Config
    gate: Gate
    store: RobotsStore
    resolver: Resolver

    def context(
        self, url: str, method: str = "GET", *, via: str | None = None, kind: Kind = Kind.PAGE
    ) -> RequestContext:
        return RequestContext.build(
            url,
            self.config.purposes,
            method=method,
            via=via,
            kind=kind,
            resolve=self.resolver.resolve,
        )

    def decide(self, ctx: RequestContext) -> Decision | Pending:
        return self.gate.decide(ctx)


def build(
    config: Config, *, clock: Callable[[], float] = time.time, persist: bool = True
) -> Gatekeeper:
    settings = config.settings
    store = RobotsStore(
        config.token,
        limit=settings.robots_parse_limit,
        ttl=settings.robots_cache_ttl,
        backoff=settings.robots_error_backoff,
        clock=clock,
        disk=open_robots_cache(settings.robots_cache_path) if persist else None,
    )
    resolver = Resolver(config.policies.values())

    def today() -> datetime.date:
        return datetime.datetime.fromtimestamp(clock(), datetime.timezone.utc).date()

    gate = Gate(
        [
            SchemeCheck(),
            TosCheck(config.grants, today, config.consents_sha256),
            RequirementsCheck(settings.contact, config.user_agent),
            RobotsCheck(store, max_crawl_delay=settings.robots_max_crawl_delay),
        ]
    )
    return Gatekeeper(config, gate, store, resolver)
