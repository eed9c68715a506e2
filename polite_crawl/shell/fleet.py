"""Fleet mode's Scrapy-side set-up: the Redis client the shared state uses (fleet/).

The client is redis-py's asyncio one: Scrapy runs Twisted on asyncio's loop, so a Redis call is
awaited like any other coroutine, never blocking the reactor (scrapy-redis's own client is
synchronous; polite_crawl does not share it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import TYPE_CHECKING, Any

from polite_crawl.fleet.origins import SharedOriginFiles
from polite_crawl.fleet.pace import FleetPacer
from polite_crawl.fleet.rate import FleetRate
from polite_crawl.fleet.roster import Roster
from polite_crawl.settings import SettingsError, setting_name
from polite_crawl.shell import exitstatus
from polite_crawl.shell._compat import close_spider

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

    from polite_crawl.settings import PoliteSettings

logger = logging.getLogger(__name__)

CLOSE_REASON = "polite_crawl_fleet_unavailable"


class Fleet:
    def __init__(self, client: Any, settings: PoliteSettings, worker: str) -> None:
        self.client = client
        self.worker = worker
        self.origin_files = SharedOriginFiles(
            client,
            prefix=settings.redis_prefix,
            worker=worker,
            lease=settings.fleet_lease,
            wait=settings.fleet_wait,
            timeout=settings.redis_timeout,
        )

        self.pacer = FleetPacer(
            client,
            prefix=settings.redis_prefix,
            lease=settings.fleet_lease,
            timeout=settings.redis_timeout,
        )

        self.rate = (
            FleetRate(
                client,
                prefix=settings.redis_prefix,
                rate=settings.fleet_host_rate,
                timeout=settings.redis_timeout,
            )
            if settings.fleet_host_rate is not None
            else None
        )
        self.roster = Roster(client, prefix=settings.redis_prefix, timeout=settings.redis_timeout)
        self.on_failure = settings.fleet_on_failure
        self.timeout = settings.redis_timeout
        self.failing = False  # a failure was met and not yet got over (pause) or closed on
        self._probe: asyncio.Task[None] | None = None

    def failed(self, crawler: Crawler) -> None:
        """The first failure since Redis last answered: close the crawl, or pause it until
        Redis answers again (POLITE_CRAWL_FLEET_ON_FAILURE). The refusals are the caller's."""
        if self.failing:
            return
        self.failing = True
        engine = crawler.engine
        if self.on_failure == "close" or engine is None:
            exitstatus.failed_at_the_end(crawler)
            close_spider(crawler, CLOSE_REASON)
            return
        engine.pause()
        logger.error(
            "polite_crawl: the crawl is paused until the fleet's Redis answers again "
            "(POLITE_CRAWL_FLEET_ON_FAILURE = 'pause')"
        )
        self._probe = asyncio.get_event_loop().create_task(self._until_back(crawler))

    async def _until_back(self, crawler: Crawler) -> None:
        while True:
            await asyncio.sleep(self.timeout)
            try:
                await asyncio.wait_for(self.client.ping(), self.timeout)
            except Exception:  # redis-py's errors, a timeout: still gone
                continue
            break
        self.failing = False
        engine = crawler.engine
        if engine is not None:
            logger.warning("polite_crawl: the fleet's Redis answers again: the crawl resumes")
            engine.unpause()

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
        await self.client.aclose()


SCRAPY_REDIS_SCHEDULER = "scrapy_redis.scheduler.Scheduler"
SCRAPY_REDIS_QUEUES = (
    "scrapy_redis.queue.PriorityQueue",
    "scrapy_redis.queue.SpiderPriorityQueue",
)
HOST_QUEUE = "polite_crawl.queues.HostQueue"


def hint_host_queue(scrapy_settings: BaseSettings) -> None:
    """Said once at start, in fleet mode: scrapy-redis's default queue hands out one site's
    links in a row, so a fleet's requests bunch on one site at a time (docs/fleet.md)."""
    scheduler = scrapy_settings.get("SCHEDULER")
    queue = scrapy_settings.get("SCHEDULER_QUEUE_CLASS") or SCRAPY_REDIS_QUEUES[0]
    if scheduler == SCRAPY_REDIS_SCHEDULER and queue in SCRAPY_REDIS_QUEUES:
        logger.info(
            "polite_crawl: the fleet shares scrapy-redis's %(queue)s, which hands out one "
            "site's links in a row; SCHEDULER_QUEUE_CLASS = %(host)r takes the sites in turn "
            '(docs/fleet.md, "The shared queue")',
            {"queue": queue.rsplit(".", 1)[-1], "host": HOST_QUEUE},
        )


def fleet_client(settings: PoliteSettings) -> Fleet | None:
    """None outside fleet mode. SettingsError when fleet mode cannot run here."""
    if settings.redis_url is None:
        return None
    name = setting_name("redis_url")
    try:
        import redis.asyncio
    except ImportError:
        raise SettingsError(
            f"{name} needs the redis package: pip install 'polite-crawl[fleet]'"
        ) from None
    from scrapy.utils.reactor import is_asyncio_reactor_installed

    if not is_asyncio_reactor_installed():
        raise SettingsError(
            f"{name} needs Scrapy's asyncio reactor (TWISTED_REACTOR = "
            "'twisted.internet.asyncioreactor.AsyncioSelectorReactor', Scrapy's default)"
        )
    try:
        # A cluster client finds each key's node itself (the hash tags keep one origin's keys
        # in one slot); both take the URL and the timeouts alike.
        kind = redis.asyncio.RedisCluster if settings.redis_cluster else redis.asyncio.Redis
        client = kind.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_timeout,
            socket_connect_timeout=settings.redis_timeout,
        )
    except ValueError as exc:
        raise SettingsError(f"{name} = {settings.redis_url!r}: {exc}") from None
    worker = settings.worker_id or f"{socket.gethostname()}-{os.getpid()}"
    return Fleet(client, settings, worker)
