"""The audit log inside a crawl: group commit, and failing closed.

Records are written at once; one fdatasync per reactor turn makes every record written in that
turn durable (group commit), and a request that needs its record durable (every allowed one)
waits for its batch before it goes on. A write or sync failure is final: the crawl is closed
with reason `polite_crawl_audit_failure` and nothing more is fetched.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from scrapy.utils.reactor import CallLaterOnce
from twisted.internet.defer import Deferred

from polite_crawl.audit.logfile import AuditError

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from polite_crawl.audit.store import AuditStore

logger = logging.getLogger(__name__)
CLOSE_REASON = "polite_crawl_audit_failure"


class DurableAudit:
    def __init__(self, crawler: Crawler, store: AuditStore, *, durable: bool) -> None:
        self.crawler = crawler
        self.store = store
        self.durable = durable
        self.failure: AuditError | None = None
        self._waiters: list[Deferred[None]] = []
        self._committer = CallLaterOnce(self._commit)

    async def write(self, platform: str | None, record: dict[str, Any]) -> None:
        """Append, and return once the record is durable."""
        self.write_soon(platform, record)
        if not self.durable:
            return
        waiter: Deferred[None] = Deferred()
        self._waiters.append(waiter)
        await maybe_deferred_to_future(waiter)

    def write_soon(self, platform: str | None, record: dict[str, Any]) -> None:
        """Append; durable with the next batch (for records nothing waits on)."""
        if self.failure is not None:
            raise self.failure
        try:
            self.store.append(platform, record)
        except AuditError as exc:
            self._fail(exc)
            raise
        self._schedule()

    def _schedule(self) -> None:
        self._committer.schedule(0)  # once per reactor turn, however many records

    def _commit(self) -> None:
        waiters, self._waiters = self._waiters, []
        try:
            if self.durable:
                self.store.sync()
            self.store.checkpoints_due()
        except AuditError as exc:
            self._fail(exc)
            for waiter in waiters:
                waiter.errback(exc)
            return
        for waiter in waiters:
            waiter.callback(None)

    def _fail(self, exc: AuditError) -> None:
        if self.failure is not None:
            return
        self.failure = exc
        logger.error(
            "polite_crawl: the audit log failed, closing the crawl: %(error)s", {"error": exc}
        )
        engine = self.crawler.engine
        if engine is None:
            return
        if hasattr(engine, "close_spider_async"):  # Scrapy >= 2.14
            deferred_from_coro(engine.close_spider_async(reason=CLOSE_REASON))
        elif self.crawler.spider is not None:
            engine.close_spider(self.crawler.spider, reason=CLOSE_REASON)

    def close(self, end: dict[str, Any]) -> None:
        try:
            self.store.close(end)
        except AuditError as exc:
            logger.error(
                "polite_crawl: could not close the audit log cleanly: %(error)s", {"error": exc}
            )
