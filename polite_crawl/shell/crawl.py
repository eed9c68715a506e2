"""One crawl's state, shared by every polite_crawl component of that crawl.

Scrapy builds each component on its own (the downloader middleware, the spider middleware, the
download handler, ...). They meet here, through `state_of(crawler)`, instead of reaching into
each other: the validated configuration (loaded once), the assembled checks, the audit journal,
the origin-file fetcher, what pages said about the URLs they link, the decisions awaiting the
wire, the wire pacer and the counts. The decision middleware starts it (`CrawlState.start`),
since a crawl that cannot start must fail there, before anything is built or sent; the other
components look it up when they first need it, and do nothing when there is none (polite_crawl
disabled).
"""

from __future__ import annotations

import datetime
import logging
import weakref
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import Request, signals

from polite_crawl.audit.keys import KEY_FILE
from polite_crawl.audit.logfile import AuditError
from polite_crawl.audit.store import AuditStore
from polite_crawl.audit.worker import WORKER_NAME
from polite_crawl.botauth.errors import BotAuthError
from polite_crawl.core import assembly
from polite_crawl.core.authority import by_authority
from polite_crawl.core.config import load, stale_policies
from polite_crawl.fleet.errors import FleetError
from polite_crawl.settings import refused_start, setting_name
from polite_crawl.shell import project_settings, records
from polite_crawl.shell.counts import DecisionCounts
from polite_crawl.shell.fleet import fleet_client, hint_host_queue
from polite_crawl.shell.journal import DurableAudit
from polite_crawl.shell.pacing import WirePacer
from polite_crawl.shell.parked import lot_of
from polite_crawl.shell.preflight import OriginFileFetcher
from polite_crawl.signals.memory import SignalMemory

if TYPE_CHECKING:
    from collections.abc import Mapping

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    # typing.Self requires Python 3.11
    from typing_extensions import Self

    from polite_crawl.botauth.sign import RequestSigner
    from polite_crawl.core.config import Config
    from polite_crawl.core.context import Origin
    from polite_crawl.core.wire import Ticket
    from polite_crawl.fleet.origins import Obtained
    from polite_crawl.origin.store import Entry, FetchResult
    from polite_crawl.settings import PoliteSettings
    from polite_crawl.shell.parked import ParkingLot

logger = logging.getLogger(__name__)

_STATES: weakref.WeakKeyDictionary[Crawler, CrawlState] = weakref.WeakKeyDictionary()
# The add-on's validated configuration, with the settings it was read from: reused when the
# crawler's final settings are the same (the usual crawl), read again when a component after
# the add-on changed one of them.
_CONFIGS: weakref.WeakKeyDictionary[Crawler, tuple[Config, tuple[Any, ...]]] = (
    weakref.WeakKeyDictionary()
)


def state_of(crawler: Crawler) -> CrawlState | None:
    """The crawl's state, once the decision middleware has started it (None: polite_crawl is
    not running in this crawl)."""
    return _STATES.get(crawler)


def keep_config(crawler: Crawler, config: Config, values: Mapping[str, Any]) -> None:
    """The add-on validated config from these settings: the crawl starts from it."""
    _CONFIGS[crawler] = (config, _read_from(values, crawler))


def _read_from(values: Mapping[str, Any], crawler: Crawler) -> tuple[Any, ...]:
    # Everything load() reads: polite_crawl's settings, USER_AGENT and the spider's user agent.
    names = sorted(k for k in values if str(k).startswith("POLITE_CRAWL_"))
    return (
        tuple((name, repr(values[name])) for name in names),
        repr(values.get("USER_AGENT")),
        repr(getattr(crawler.spider, "user_agent", None)),
    )


def _config_for(crawler: Crawler) -> Config | None:
    kept = _CONFIGS.get(crawler)
    if kept is not None and kept[1] == _read_from(crawler.settings, crawler):
        return kept[0]
    # Not through the add-on (the middleware listed by hand), or changed since: read now.
    token = project_settings.project_product_token(crawler.settings)
    return load(crawler.settings, crawler.spider, project_token=token)


class CrawlComponent:
    """Base of the components that consult the crawl's state: Scrapy builds them from the
    crawler, and they look the state up when they need it (None: polite_crawl is off)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._state: CrawlState | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    @property
    def state(self) -> CrawlState | None:
        # A crawler's state is made once and never replaced: kept once found (asked for on
        # every response), looked up until then (the decision middleware may start it later).
        state = self._state
        if state is None:
            state = self._state = _STATES.get(self.crawler)
        return state


class CrawlState:
    def __init__(self, crawler: Crawler, config: Config) -> None:
        self.crawler = crawler
        self.config = config
        self.settings = config.settings
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats
        self.enforce = self.settings.mode == "enforce"
        self.decider = assembly.build(config)
        # Web Bot Auth (None: off): the key is loaded, or created, before anything is opened.
        self.signer = _start_signer(self.settings)
        self.audit = DurableAudit(
            crawler, _open_store(config), durable=self.settings.audit_durability == "fsync"
        )
        # Fleet mode (POLITE_CRAWL_REDIS_URL): origin files shared through Redis.
        self.fleet = fleet_client(self.settings)
        if self.fleet is not None:
            hint_host_queue(crawler.settings)
        self.files = OriginFileFetcher(
            crawler,
            self.decider.files,
            self._file_fetched,
            user_agent=config.user_agent,
            hop_refusal=self.decider.hop_refusal,
            shared=self.fleet.origin_files if self.fleet is not None else None,
        )
        self.counts = DecisionCounts()
        self.memory = SignalMemory()  # what pages said about the URLs they link
        # What was decided about each request let through, until it reaches the wire (by
        # object identity, like the preflight exemption: nothing spider code can forge).
        self.tickets: weakref.WeakKeyDictionary[Request, Ticket] = weakref.WeakKeyDictionary()
        self.pacer = WirePacer()
        self.warned_wire: set[str] = set()  # wire.* reasons warned about, once per crawl
        self._platform_by_authority = by_authority(self._platform)
        crawler.signals.connect(self._opened, signal=signals.spider_opened)
        crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)

    @classmethod
    def start(cls, crawler: Crawler) -> CrawlState | None:
        """The crawl's state, built once (None: POLITE_CRAWL_ENABLED is False). A problem
        raises SettingsError, naming the setting."""
        state = _STATES.get(crawler)
        if state is None:
            config = _config_for(crawler)
            if config is None:
                return None
            state = _STATES[crawler] = cls(crawler, config)
        return state

    @property
    def parking(self) -> ParkingLot | None:
        """Where a paced request waits off the wire (parking.py), if the middleware is there."""
        return lot_of(self.crawler)

    def platform_of(self, url: str) -> str | None:
        """The policy id whose log records about url go to (None: the _sites log)."""
        # Asked for every response (its `fetched` record): once per authority.
        return self._platform_by_authority(url)

    def _platform(self, url: str) -> str | None:
        loaded = self.decider.resolver.resolve((urlsplit(url).hostname or "").lower())
        return loaded.id if loaded else None

    async def _opened(self) -> None:
        self._spider_opened()
        # Before any record: every log's run.start names the fleet's workers as seen now.
        fleet = await self._fleet_roster(join=True)
        if fleet is not None:
            self.audit.store.run_start["fleet"] = fleet
            # A worker on the roster signs a head even if it never sends a request: a fleet
            # export tells a worker that did nothing (its head, over its _sites log) from one
            # whose directory was left out or emptied (no head: withheld, docs/format.md §14).
            self.audit.store.log(None)

    async def _fleet_roster(self, *, join: bool) -> dict[str, Any] | None:
        """With a shared log key in a fleet: this worker's name and the fleet's roster
        (fleet/roster.py) in what the logs' run.start (or run.end) say. Redis failing is said
        there too: the export then cannot show that no worker log is missing."""
        worker = self.audit.store.worker
        if self.fleet is None or worker is None:
            return None
        roster = self.fleet.roster
        try:
            peers: list[str] | None = await (
                roster.join(worker) if join else roster.members(worker)
            )
            error = None
        except FleetError as exc:
            peers, error = None, str(exc)
            logger.error("polite_crawl: the fleet's roster is not recorded: %(e)s", {"e": exc})
        found: dict[str, Any] = {"worker": worker, "peers": peers}
        if error:
            found["error"] = error
        if roster.foreign:
            logger.warning(
                "polite_crawl: the fleet's roster holds %(n)d member(s) that are no worker "
                "name; left out",
                {"n": roster.foreign},
            )
            found["foreign"] = roster.foreign
        return found

    def _spider_opened(self) -> None:
        config, settings = self.config, self.settings
        source = (
            "POLITE_CRAWL_USER_AGENT_TOKEN"
            if settings.user_agent_token
            else ("derived from USER_AGENT")
        )
        purposes = sorted(p.value for p in config.purposes)
        logger.info(
            "polite_crawl: mode=%(mode)s purposes=%(purposes)s robots.txt product token=%(token)r "
            "(%(source)s), %(policies)d platform policies, %(grants)d consent grants",
            {
                "mode": settings.mode,
                "token": config.token,
                "source": source,
                "purposes": ",".join(purposes),
                "policies": len(config.policies),
                "grants": len(config.grants),
            },
        )
        if settings.consents is not None or settings.policy_dirs:
            # Absolute, as resolved (relative ones against the project root): which files.
            logger.info(
                "polite_crawl: consents %(consents)s, policy directories %(dirs)s",
                {
                    "consents": settings.consents or "(none)",
                    "dirs": ", ".join(map(str, settings.policy_dirs)) or "(none)",
                },
            )
        today = datetime.datetime.now(datetime.timezone.utc).date()
        for stale in stale_policies(config, today):
            logger.warning(
                "polite_crawl: policy %(policy)s is older than POLITE_CRAWL_POLICY_MAX_AGE_DAYS "
                "= %(days)d; platform terms change, review it",
                {"policy": stale, "days": settings.policy_max_age_days},
            )
        # The policy files decisions may cite, as read: the first decision citing one keeps its
        # bytes as evidence, so an export carries the very file that was applied.
        self.audit.store.citable = {p.sha256: p.raw for p in config.policies.values()}
        # What every log this run touches starts with: who crawled, for what, under which rules.
        self.audit.store.run_start = {
            "purposes": purposes,
            "token": config.token,
            "mode": settings.mode,
            "user_agent": config.user_agent,
            "contact": settings.contact,
            "policies": {p.id: p.sha256 for p in config.policies.values()},
            "consents_sha256": config.consents_sha256,
            "key": self.audit.store.fingerprint,
        }
        if self.signer is not None:
            # The key that signs this run's requests, and its note naming the log key: each
            # key vouches for the other (botauth/binding.py, docs/format.md §6).
            from polite_crawl.botauth.binding import binding_note  # see _start_signer

            key = self.signer.signer.key
            self.audit.store.run_start.update(
                bot_auth_keyid=key.keyid,
                bot_auth_key=key.jwk(),
                bot_auth_binding=binding_note(key, self.audit.store.fingerprint),
            )

    async def _spider_closed(self, reason: str) -> None:
        for kind, store in self.decider.files.items():  # a bounded cache says what it forgot
            if store.evictions:
                self.stats.set_value(f"polite_crawl/origin_cache/evicted/{kind}", store.evictions)
        # Each log's run.end counts that log's own records (the store's), not the crawl's: an
        # export for one platform says nothing about the others.
        end: dict[str, Any] = {"reason": reason}
        fleet = await self._fleet_roster(join=False)
        if fleet is not None:
            end["fleet"] = fleet
        await self.audit.close(end)
        if self.fleet is not None:
            # What the fleet cost this worker in Redis commands (docs/fleet.md, benchmarks).
            self.stats.set_value(
                "polite_crawl/fleet/redis/origin_files", self.fleet.origin_files.round_trips
            )
            self.stats.set_value("polite_crawl/fleet/redis/pacing", self.fleet.pacer.round_trips)
            if self.fleet.rate is not None:
                self.stats.set_value("polite_crawl/fleet/redis/rate", self.fleet.rate.round_trips)
            await self.fleet.close()
        if self.decider.store.disk is not None:
            self.decider.store.disk.close()
        logger.info("polite_crawl: %(summary)s", {"summary": self.counts.summary()})

    def _file_fetched(
        self,
        kind: str,
        origin: Origin,
        result: FetchResult,
        entry: Entry[Any],
        fleet: Obtained | None = None,
    ) -> None:
        # The file's bytes are kept by sha256, and the fetch is logged where the origin's
        # decisions are: an export for a platform carries the robots.txt its decisions cite.
        if result.body:
            self.audit.keep_evidence(result.body, entry.sha256)
        platform = self.decider.resolver.resolve(origin.host)
        self.audit.write_soon(
            platform.id if platform else None, records.preflight(kind, result, entry, fleet)
        )
        # The host's pace is known from now on (its robots.txt Crawl-delay, its policy's
        # min_delay): the next origin file (tdmrep.json, ai.txt) waits for it like a page.
        # Read from the robots.txt in force after every origin file: it may have come from the
        # persisted cache, with no preflight of its own to teach the pacer.
        delays = [platform.policy.rule_for(p).min_delay for p in self.config.purposes if platform]
        robots = entry if kind == "robots" else self.decider.store.get(origin)
        governing = robots.in_force() if robots is not None else None
        rules = governing.rules if governing is not None else None
        if rules is not None and rules.crawl_delay is not None:
            delays.append(min(rules.crawl_delay, self.settings.robots_max_crawl_delay))
        self.pacer.learn(origin.host.rstrip("."), max(delays, default=0.0))


def _start_signer(settings: PoliteSettings) -> RequestSigner | None:
    """None when signing is off; else the key in the audit directory, loaded or created. A key
    that cannot be used raises SettingsError naming the setting and the file."""
    if not settings.web_bot_auth:
        return None
    # Imported only when signing is on: the RFC 9421 and Structured Field libraries cost every
    # crawl's start-up about 14 ms of CPU otherwise (#21).
    from polite_crawl.botauth.key import key_path, load_or_create
    from polite_crawl.botauth.sign import RequestSigner

    # The default file is made on first use; a file named by path must exist (a typo must
    # not become a new identity that no published directory holds).
    named = settings.bot_auth_key
    try:
        if named is None:
            key = load_or_create(key_path(settings.audit_dir))
        else:
            key = load_or_create(named, create=False)
    except BotAuthError as exc:
        which = "web_bot_auth" if named is None else "bot_auth_key"
        value = "True" if named is None else repr(str(named))
        message = f"{setting_name(which)} = {value}: {exc}"
        raise refused_start(logger, message) from None
    logger.info(
        "polite_crawl: Web Bot Auth on, keyid %(keyid)s, Signature-Agent %(agent)s",
        {"keyid": key.keyid, "agent": settings.signature_agent or "(none)"},
    )
    return RequestSigner(key, settings.signature_agent, settings.signature_ttl)


def _open_store(config: Config) -> AuditStore:
    settings = config.settings
    directory = settings.audit_dir
    shown = f"{setting_name('audit_dir')} = {str(directory)!r}"
    shared = settings.audit_key
    worker = _log_worker(settings) if shared is not None else None
    if shared is not None:
        # The key kept outside the directory: the setting is what a problem with it names.
        shown = f"{setting_name('audit_key')} = {str(shared)!r}"
    elif not settings.audit_key_create and not (directory / KEY_FILE).exists():
        message = (
            f"{shown}: no log-signing key at {directory / KEY_FILE}, and "
            f"{setting_name('audit_key_create')} = False forbids creating one. Run from the "
            "project whose audit directory this is, restore signing.key from your backup, or "
            f"set {setting_name('audit_key_create')} = True once to start a new key (and "
            "publish its fingerprint)"
        )
        raise refused_start(logger, message)
    try:
        store = AuditStore(
            directory,
            contact=settings.contact,
            checkpoint_every=settings.audit_checkpoint_every,
            checkpoint_seconds=settings.audit_checkpoint_seconds,
            redact_params=frozenset(settings.audit_redact_params),
            create_key=settings.audit_key_create,
            buffered=True,  # one write() per reactor turn: see journal.py
            key_file=shared,
            worker=worker,
        )
    except (AuditError, ValueError) as exc:
        message = f"{shown}: {exc}"
        raise refused_start(logger, message) from None
    if store.key_created:
        logger.warning(
            "polite_crawl: created a NEW log-signing key sha256:%(fp)s at %(path)s: platforms "
            "verify your logs against this fingerprint; back the file up and keep it out of "
            "version control (set %(setting)s = False to forbid creating keys)",
            {
                "fp": store.fingerprint,
                "path": directory / KEY_FILE,
                "setting": setting_name("audit_key_create"),
            },
        )
    logger.info(
        "polite_crawl: audit log in %(dir)s, signing key sha256:%(fp)s%(shared)s",
        {
            "dir": directory,
            "fp": store.fingerprint,
            "shared": "" if shared is None else f" (shared: {shared}, worker {worker})",
        },
    )
    return store


def _log_worker(settings: PoliteSettings) -> str:
    """This directory's name in the origins of logs a shared key signs: the worker id, else the
    audit directory's own name (stable from run to run, unlike host and pid)."""
    name = settings.worker_id or settings.audit_dir.name
    if not WORKER_NAME.fullmatch(name):
        message = (
            f"{setting_name('audit_key')}: the audit directory's name {name!r} cannot name this "
            f"worker in log origins; set {setting_name('worker_id')} (letters, digits, '.', '_' "
            "and '-')"
        )
        raise refused_start(logger, message)
    return name
