"""Everything the decision needs, assembled from a validated Config. Scrapy-free, so that the
middleware and `polite-crawl check` decide with exactly the same gate."""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from polite_crawl.core.addresses import AddressPolicy
from polite_crawl.core.checks import aitxt, tdmrep
from polite_crawl.core.checks.address import AddressCheck
from polite_crawl.core.checks.aitxt import AiTxtCheck
from polite_crawl.core.checks.content_signal import ContentSignalCheck
from polite_crawl.core.checks.identity import IdentityCheck
from polite_crawl.core.checks.requirements import RequirementsCheck
from polite_crawl.core.checks.robots import RobotsCheck
from polite_crawl.core.checks.scheme import WEB_SCHEMES, SchemeCheck
from polite_crawl.core.checks.signals import SignalsCheck
from polite_crawl.core.checks.tos import TosCheck
from polite_crawl.core.config import open_origin_cache
from polite_crawl.core.context import RequestContext
from polite_crawl.core.decision import Reason
from polite_crawl.core.gate import Gate
from polite_crawl.core.purposes import Kind
from polite_crawl.origin.store import Doc, OriginStore, Pins, Read
from polite_crawl.policy.resolver import Resolver
from polite_crawl.robots.reader import robots_reader
from polite_crawl.signals.tdmrep import read_tdmrep

if TYPE_CHECKING:
    from collections.abc import Callable

    from polite_crawl.core.config import Config
    from polite_crawl.core.decision import Decision
    from polite_crawl.core.gate import Pending
    from polite_crawl.robots.rules import Rules
    from polite_crawl.signals.memory import Inherited


@dataclass
class Decider:
    """Decides one request: builds its context from the Config and asks the core's Gate. The
    Gate and its checks, the origin stores the preflights fill, and the platform resolver, as
    build() put them together."""

    config: Config
    gate: Gate
    store: OriginStore[Rules]  # robots.txt
    resolver: Resolver
    files: dict[str, OriginStore[Any]]  # preflight kind -> store (robots, tdmrep, aitxt)

    def context(
        self,
        url: str,
        method: str = "GET",
        *,
        via: str | None = None,
        kind: Kind = Kind.PAGE,
        user_agent: str | None = None,
        host_header: str | None = None,
        inherited: Inherited | None = None,
    ) -> RequestContext:
        """inherited: what the page that linked this URL said (its signals, and that the URL
        is one of its images)."""
        if inherited is not None:
            kind = inherited.kind
        return RequestContext.build(
            url,
            self.config.purposes,
            method=method,
            via=via,
            kind=kind,
            resolve=self.resolver.resolve,
            # An empty User-Agent is judged as sent (empty), not as the configured one.
            user_agent=self.config.user_agent if user_agent is None else user_agent,
            host_header=host_header,
            signals=inherited.directives if inherited else frozenset(),
            signals_from=inherited.page if inherited and inherited.directives else None,
        )

    def hop_refusal(self, url: str) -> str | None:
        """Why a robots.txt redirect to url must not be followed (None: it may be). Only the
        offline checks apply (scheme, internal address, platform terms, ...): a hop is itself a
        preflight, with no robots.txt of its own."""
        ctx = self.context(url)
        if ctx.origin.scheme not in WEB_SCHEMES:
            return Reason.UNSUPPORTED_SCHEME.value
        refusal = self.gate.offline_refusal(ctx)
        return refusal.reason.value if refusal is not None else None

    def decide(self, ctx: RequestContext) -> Decision | Pending:
        return self.gate.decide(ctx)


def build(
    config: Config, *, clock: Callable[[], float] = time.time, persist: bool = True
) -> Decider:
    settings = config.settings
    disk = open_origin_cache(settings.robots_cache_path) if persist else None
    # One set of holds for all three stores: an origin waiting for its tdmrep.json keeps its
    # robots.txt entry too (see origin/pins.py).
    pins = Pins()

    # robots.txt's cache settings serve every origin-level file: they are read the same way.
    def store_of(path: str, read: Callable[[bytes, int], Read[Doc]]) -> OriginStore[Doc]:
        return OriginStore(
            path,
            read,
            limit=settings.robots_parse_limit,
            ttl=settings.robots_cache_ttl,
            backoff=settings.robots_error_backoff,
            clock=clock,
            disk=disk,
            max_origins=settings.origin_cache_size,
            pins=pins,
        )

    store = store_of("/robots.txt", robots_reader(config.token))
    tdm_store = store_of(tdmrep.PATH, read_tdmrep)
    ai_store = store_of(aitxt.PATH, robots_reader(config.token))
    resolver = Resolver(config.policies.values())

    def today() -> datetime.date:
        return datetime.datetime.fromtimestamp(clock(), datetime.timezone.utc).date()

    gate = Gate(
        [
            SchemeCheck(),
            AddressCheck(AddressPolicy(settings.allow_internal_networks)),
            TosCheck(config.grants, today, config.consents_sha256),
            IdentityCheck(config.token),
            RequirementsCheck(settings.contact),
            SignalsCheck(),
            RobotsCheck(store, max_crawl_delay=settings.robots_max_crawl_delay),
            ContentSignalCheck(store),
            tdmrep.TdmRepCheck(tdm_store),
            AiTxtCheck(ai_store),
        ]
    )
    files: dict[str, OriginStore[Any]] = {"robots": store, "tdmrep": tdm_store, "aitxt": ai_store}
    return Decider(config, gate, store, resolver, files)
