"""The audit log inside a crawl: group commit, and failing closed.

Records are appended at once and reach the file together at the end of the reactor turn; one
fdatasync per turn makes every record of that turn durable (group commit), and a request that
needs its record durable (every allowed one) waits for its batch before it goes on. Without
durability, a waited-for record is still written (not synced) before its request goes on. A
write or sync failure is final: the crawl is closed with reason `polite_crawl_audit_failure`
and nothing more is fetched, and it ends as a failed crawl (exit status 1, see exitstatus.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Union

from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.reactor import is_asyncio_reactor_installed
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from polite_crawl.audit.logfile import AuditError, sync_fds
from polite_crawl.audit.syncer import SyncHelper, SyncHelperError
from polite_crawl.shell import exitstatus
from polite_crawl.shell._compat import close_spider

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from scrapy.crawler import Crawler
    from twisted.python.failure import Failure

    from polite_crawl.audit.store import AuditStore

logger = logging.getLogger(__name__)
CLOSE_REASON = "polite_crawl_audit_failure"
Waiter = Union["asyncio.Future[None]", Deferred[None]]  # a request waiting for its batch


def not_sent(failure: AuditError) -> IgnoreRequest:
    """What a request whose record could not be made durable fails with: IgnoreRequest, not the
    OSError that AuditError is (RetryMiddleware would retry that)."""
    return IgnoreRequest(f"polite_crawl: audit log failed, not sent: {failure}")


def _release(waiter: Waiter, failure: AuditError | None = None) -> None:
    error = not_sent(failure) if failure else None
    if isinstance(waiter, Deferred):
        if error is None:
            waiter.callback(None)
        else:
            waiter.errback(error)
    elif not waiter.done():  # a cancelled request no longer waits
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)


class _Answers:
    """The sync helper's answers, read as reactor I/O (no thread in the crawl process): what
    Twisted's IReadDescriptor asks of an object given to reactor.addReader."""

    def __init__(self, helper: SyncHelper, answered: Callable[[OSError | None], None]) -> None:
        self.helper = helper
        self.answered = answered

    def fileno(self) -> int:
        return self.helper.fileno()

    def doRead(self) -> None:
        try:
            error = self.helper.answer()
        except BlockingIOError:
            return
        self.answered(error)

    def connectionLost(self, reason: object) -> None:
        # Twisted drops a reader whose doRead raised, or whose fd broke: no answer will come.
        self.answered(SyncHelperError(0, f"the audit sync helper cannot be read: {reason}"))

    def logPrefix(self) -> str:
        return "polite_crawl audit sync"


def _reactor() -> Any:
    from twisted.internet import reactor  # the installed one (Scrapy chose it before)

    return reactor


async def _wait(waiter: Deferred[None]) -> None:
    # Other reactors: a middleware may not hand Scrapy a Deferred, so a coroutine awaits it.
    await maybe_deferred_to_future(waiter)


class DurableAudit:
    def __init__(self, crawler: Crawler, store: AuditStore, *, durable: bool) -> None:
        self.crawler = crawler
        self.store = store
        self.durable = durable
        self.failure: AuditError | None = None
        self._waiters: list[Waiter] = []
        # Under the asyncio reactor (Scrapy's default) a request waits on a bare asyncio future:
        # a Deferred turned into one costs about 7 us more per allowed request.
        self._futures = is_asyncio_reactor_installed()
        self._turn_pending = False  # a commit is scheduled for the end of this turn
        self._syncing = False
        self._idle: list[Deferred[None]] = []
        self._helper: SyncHelper | None = None
        self._answers: _Answers | None = None
        self._in_flight: list[Waiter] = []
        if durable:
            self._start_helper()

    def _start_helper(self) -> None:
        # fdatasync in a helper process (see audit/syncer.py); a worker thread if none starts.
        try:
            self._helper = SyncHelper()
        except SyncHelperError as exc:
            logger.warning("polite_crawl: %(error)s; syncing in a thread", {"error": exc})
            return
        self._answers = _Answers(self._helper, self._answered)
        _reactor().addReader(self._answers)

    def write(self, platform: str | None, record: dict[str, Any]) -> Awaitable[None] | None:
        """Append; return what to await until the record is durable (it raises IgnoreRequest if
        the log fails first), or None without durability (the record is written at once)."""
        self.write_soon(platform, record)
        if not self.durable:
            self._flush()
            return None
        if self._futures:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(future)
            return future
        waiter: Deferred[None] = Deferred()
        self._waiters.append(waiter)
        return _wait(waiter)

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

    def keep_evidence(self, body: bytes, digest: str) -> None:
        """Store bytes decisions will cite (a robots.txt). Failing here fails the audit like a
        failed write: otherwise the crawl would go on deciding on evidence never kept."""
        if self.failure is not None:
            raise self.failure
        try:
            self.store.keep_evidence(body, digest)
        except AuditError as exc:
            self._fail(exc)
            raise

    def _schedule(self) -> None:
        # One sync per reactor turn, however many records were written in it. (A longer window
        # measured no faster: a waiting request holds a downloader slot, so latency costs too.)
        if not self._turn_pending:
            self._turn_pending = True
            _reactor().callLater(0, self._commit)

    def _flush(self) -> None:
        try:
            self.store.flush()
        except AuditError as exc:
            self._fail(exc)
            raise

    def _commit(self) -> None:
        # Group commit: one write, and one fdatasync in the helper process (or the fallback
        # thread), for every record appended so far; the crawl goes on meanwhile, and records
        # appended during the sync wait for the next one.
        self._turn_pending = False
        if self._syncing:
            return  # _synced starts the next batch
        waiters, self._waiters = self._waiters, []
        if self.failure is None:
            try:
                self.store.flush()
                fds = self.store.take_dirty() if self.durable else []
            except AuditError as exc:
                self._fail(exc)
        if self.failure is not None:
            self._refuse(waiters)  # after any failure nothing more is written, synced or sent
            return
        if not fds and not waiters:
            self._checkpoints()
            return
        self._syncing = True
        if self._helper is not None:
            self._in_flight = waiters
            try:
                self._helper.request(fds)
            except SyncHelperError as exc:
                self._answered(exc)
            return
        done = deferToThread(sync_fds, fds)
        done.addCallbacks(
            self._synced, self._sync_failed, callbackArgs=(waiters,), errbackArgs=(waiters,)
        )

    def _settle(self) -> None:
        self._syncing = False
        idle, self._idle = self._idle, []
        for waiter in idle:
            waiter.callback(None)

    def _refuse(self, waiters: list[Waiter]) -> None:
        assert self.failure is not None
        for waiter in [*waiters, *self._waiters]:
            _release(waiter, self.failure)
        self._waiters = []

    def _synced(self, _: object, waiters: list[Waiter]) -> None:
        self._checkpoints()  # a failure here refuses this batch too: nothing is sent after one
        if self.failure is not None:
            self._refuse(waiters)
        else:
            for waiter in waiters:
                _release(waiter)
            if self._waiters or self.store.unsynced():
                self._schedule()
        self._settle()  # last: close() may go on now

    def _answered(self, error: OSError | None) -> None:
        waiters, self._in_flight = self._in_flight, []
        if error is None:
            self._synced(None, waiters)
            return
        self._stop_helper()
        self._sync_error(AuditError(error.errno, f"cannot sync the audit log: {error}"), waiters)

    def _stop_helper(self) -> None:
        answers, self._answers = self._answers, None
        if answers is not None:
            _reactor().removeReader(answers)
        if self._helper is not None:
            self._helper.close()

    def _sync_failed(self, failure: Failure, waiters: list[Waiter]) -> None:
        exc = failure.value
        self._sync_error(exc if isinstance(exc, AuditError) else AuditError(0, str(exc)), waiters)

    def _sync_error(self, error: AuditError, waiters: list[Waiter]) -> None:
        self._fail(error)  # first: close() must find the failure when it wakes
        self._refuse(waiters)
        self._settle()

    def _checkpoints(self) -> None:
        try:
            self.store.checkpoints_due()
        except AuditError as exc:
            self._fail(exc)

    def _fail(self, exc: AuditError) -> None:
        if self.failure is not None:
            return
        self.failure = exc
        logger.error(
            "polite_crawl: the audit log failed, closing the crawl: %(error)s", {"error": exc}
        )
        if self.crawler.engine is None:
            return
        exitstatus.failed_at_the_end(self.crawler)
        close_spider(self.crawler, CLOSE_REASON)

    async def close(self, end: dict[str, Any]) -> None:
        # A sync still running (helper or thread) holds the logs' fds: let it finish first.
        while self._syncing:
            idle: Deferred[None] = Deferred()
            self._idle.append(idle)
            await maybe_deferred_to_future(idle)
        self._stop_helper()
        if self.failure is not None:
            self.store.abandon()
            return
        try:
            self.store.close(end)
        except AuditError as exc:
            logger.error(
                "polite_crawl: could not close the audit log cleanly: %(error)s", {"error": exc}
            )
            exitstatus.failed_at_the_end(self.crawler)  # records were left unsigned
