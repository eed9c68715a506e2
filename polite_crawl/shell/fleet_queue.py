"""`SCHEDULER_QUEUE_CLASS = "polite_crawl.queues.HostQueue"`: a scrapy-redis queue that hands
out the fleet's requests host by host, in turn (the Redis side and why: fleet/hostqueue.py).

scrapy-redis's scheduler builds it as it builds its own queues, `(server, spider, key,
serializer)`, and calls push, pop and len; its serializer (SCHEDULER_SERIALIZER, pickle unless
set) turns a request's dict (Request.to_dict) into bytes and back. A request's host is the
download slot Scrapy's downloader would put it in: `meta["download_slot"]`, else the URL's host.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.utils.request import request_from_dict

from polite_crawl.fleet.errors import FleetError
from polite_crawl.fleet.hostqueue import HostQueueStore

if TYPE_CHECKING:
    from scrapy import Request, Spider

logger = logging.getLogger(__name__)

SLOT_META = "download_slot"  # Scrapy's Downloader.DOWNLOAD_SLOT
# Entries one pop may set aside as unreadable before it answers "nothing now": a queue full of
# another program's entries must not hold the reactor in one call.
MAX_BAD_PER_POP = 100


def _host_and_priority(data: dict[str, Any]) -> tuple[str, int]:
    """A request's download slot and priority, from its dict (Request.to_dict): one reading for
    the requests pushed and for those a kept scrapy-redis queue holds."""
    slot = (data.get("meta") or {}).get(SLOT_META)
    host = slot if slot is not None else (urlsplit(data["url"]).hostname or "")
    return str(host), int(data.get("priority", 0))


def _default_serializer() -> Any:
    # What scrapy-redis's own queues use when its scheduler passes none.
    from scrapy_redis import picklecompat  # imported only here: scrapy-redis is the caller

    return picklecompat


class HostQueue:
    """A scrapy-redis queue class (its `Base` interface, duck-typed: scrapy-redis is not needed
    to import this module)."""

    def __init__(self, server: Any, spider: Spider, key: str, serializer: Any = None) -> None:
        self.serializer = serializer if serializer is not None else _default_serializer()
        for name in ("loads", "dumps"):
            if not callable(getattr(self.serializer, name, None)):
                raise TypeError(f"serializer {self.serializer!r} has no {name}()")
        self.server = server
        self.spider = spider
        self.key = key % {"spider": spider.name}
        self.store = HostQueueStore(server, self.key)
        self._adopt()

    def _adopt(self) -> int:
        moved = self.store.adopt(self.key, self._host_and_priority)
        if moved:
            logger.warning(
                "polite_crawl: moved %(n)d requests from scrapy-redis's queue %(key)s into the "
                "host queue (SCHEDULER_QUEUE_CLASS changed on a kept crawl)",
                {"n": moved, "key": self.key},
            )
        return moved

    def _host_and_priority(self, entry: bytes) -> tuple[str, int]:
        return _host_and_priority(self.serializer.loads(entry))

    def __len__(self) -> int:
        return len(self.store)

    def push(self, request: Request) -> None:
        data = request.to_dict(spider=self.spider)
        host, priority = _host_and_priority(data)
        self.store.push(host, priority, self.serializer.dumps(data))

    def pop(self, timeout: int = 0) -> Request | None:
        """The next host's next request, or None when none is queued (never blocks: like
        scrapy-redis's PriorityQueue, it ignores SCHEDULER_IDLE_BEFORE_CLOSE's timeout)."""
        for _ in range(MAX_BAD_PER_POP):
            try:
                popped = self.store.pop()
            except FleetError as exc:
                self._unreadable(str(exc))
                continue
            if popped is None:
                # A kept scrapy-redis queue not yet moved over (its mover killed, its lease run
                # out): move it now, or its requests would be counted as queued for ever.
                if self.store.legacy_pending and self._adopt():
                    continue
                return None
            try:
                return request_from_dict(self.serializer.loads(popped.payload), spider=self.spider)
            except Exception as exc:  # any failure to read is the entry's: kept, said, skipped
                self.store.keep_bad(popped.payload)
                self._unreadable(
                    f"a queued request for {popped.host!r} cannot be read back "
                    f"({type(exc).__name__}: {exc}); kept in {self.store.bad}"
                )
        return None

    def _unreadable(self, message: str) -> None:
        logger.error("polite_crawl: %s", message)
        crawler = getattr(self.spider, "crawler", None)
        if crawler is not None and crawler.stats is not None:
            crawler.stats.inc_value("polite_crawl/fleet/queue/unreadable")

    def clear(self) -> None:
        self.store.clear()
        # As scrapy-redis's own clear(): its queue at the key too (a kept one not moved over).
        self.server.delete(self.key)
