"""The audit log inside a crawl: group commit, and failing closed.

Records are appended at once and reach the file together at the end of the reactor turn; one
fdatasync makes every record written so far durable (group commit), and a request that needs
its record durable (every allowed one) waits for its batch before it goes on. A turn whose
records nothing waits on (`fetched` records, refusals) is written but not synced on its own: the
next batch a request waits on syncs it, or a sync LAZY_SYNC_SECONDS later (each fdatasync costs
the kernel CPU: about a fifth of a crawl's syncs were of such turns, #21). Without
durability, a waited-for record is still written (not synced) before its request goes on. A
write or sync failure is final: the crawl is closed with reason `polite_crawl_audit_failure`
and nothing more is fetched, and it ends as a failed crawl (exit status 1, see exitstatus.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
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
    from collections.abc import Awaitable

    from scrapy.crawler import Crawler
    from twisted.internet.base import DelayedCall
    from twisted.python.failure import Failure

    from polite_crawl.audit.store import AuditStore

logger = logging.getLogger(__name__)
CLOSE_REASON = "polite_crawl_audit_failure"
Waiter = Union["asyncio.Future[None]", Deferred[None]]  # a request waiting for its batch
# The longest a written record nothing waits on stays unsynced. A crash of the crawl process
# loses no written record (the kernel holds it); an OS crash or power cut within this window
# can lose such records, never the allow record of a request that went on.
LAZY_SYNC_SECONDS = 0.1
SYNCS_STAT = "polite_crawl/audit/syncs"


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


SyncDone = Callable[[AuditError | None], None]


class _HelperSync:
    """fdatasync in a helper process (audit/syncer.py): one request per batch, its answer read
    as reactor I/O. `done` is called once per request, and also if the helper breaks between
    batches (the next batch could not be made durable: fail now)."""

    def __init__(self, helper: SyncHelper, done: SyncDone) -> None:
        self._helper = helper
        self._done = done
        self._answers: _Answers | None = _Answers(helper, self._answered)
        _reactor().addReader(self._answers)

    def start(self, fds: list[int]) -> None:
        try:
            self._helper.request(fds)
        except SyncHelperError as exc:
            self._answered(exc)

    def _answered(self, error: OSError | None) -> None:
        if error is None:
            self._done(None)
            return
        self.close()  # a helper that failed once is never asked again
        self._done(AuditError(error.errno, f"cannot sync the audit log: {error}"))

    def close(self) -> None:
        answers, self._answers = self._answers, None
        if answers is not None:
            _reactor().removeReader(answers)
            self._helper.close()


class _ThreadSync:
    """fdatasync in a worker thread: where no helper process could start."""

    def __init__(self, done: SyncDone) -> None:
        self._done = done

    def start(self, fds: list[int]) -> None:
        deferToThread(sync_fds, fds).addCallbacks(lambda _: self._done(None), self._failed)

    def _failed(self, failure: Failure) -> None:
        exc = failure.value
        self._done(exc if isinstance(exc, AuditError) else AuditError(0, str(exc)))

    def close(self) -> None:
        pass


class DurableAudit:
    """The crawl's write-ahead journal. Its state, and what a crash at each point leaves:

    - `_waiting`: requests whose records are appended (in the store's buffer or the file) but
      not yet in a sync. A crash here loses nothing that was sent: none of them has gone on.
    - `_in_sync`: the requests of the batch being synced, None when no sync runs. A crash here
      leaves their records written, maybe not durable; none of them has gone on, so the log
      holds every record of every request sent (after the crash, `polite-crawl audit seal`
      signs it).
    - `_scheduled`: a commit is due at the end of this reactor turn.
    - `_lazy`: records nothing waits on are written but not synced; a commit that syncs them is
      due by then. A crash here loses none of them unless the OS goes down too (see
      LAZY_SYNC_SECONDS); `_lazy_due`: that time has come, the next commit syncs.
    - `failure`: once set, nothing more is written, synced or let through; every waiting and
      later request fails with IgnoreRequest, and the crawl closes.
    A request goes on only once its batch's sync answered without error (_sync_done).
    """

    def __init__(self, crawler: Crawler, store: AuditStore, *, durable: bool) -> None:
        self.crawler = crawler
        self.store = store
        self.durable = durable
        self.failure: AuditError | None = None
        self._waiting: list[Waiter] = []
        self._in_sync: list[Waiter] | None = None
        self._scheduled = False
        self._lazy: DelayedCall | None = None  # the lazy sync, if one is due
        self._lazy_due = False
        self._idle: list[Deferred[None]] = []  # close() waiting for a sync to end
        # Under the asyncio reactor (Scrapy's default) a request waits on a bare asyncio future:
        # a Deferred turned into one costs about 7 us more per allowed request.
        self._futures = is_asyncio_reactor_installed()
        self._sync: _HelperSync | _ThreadSync | None = self._start_sync() if durable else None

    def _start_sync(self) -> _HelperSync | _ThreadSync:
        try:
            return _HelperSync(SyncHelper(), self._sync_done)
        except SyncHelperError as exc:
            logger.warning("polite_crawl: %(error)s; syncing in a thread", {"error": exc})
            return _ThreadSync(self._sync_done)

    def write(self, platform: str | None, record: dict[str, Any]) -> Awaitable[None] | None:
        """Append; return what to await until the record is durable (it raises IgnoreRequest if
        the log fails first), or None without durability (the record is written at once)."""
        self.write_soon(platform, record)
        if not self.durable:
            self._flush()
            return None
        if self._futures:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting.append(future)
            return future
        waiter: Deferred[None] = Deferred()
        self._waiting.append(waiter)
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
        if not self._scheduled:
            self._scheduled = True
            _reactor().callLater(0, self._commit)

    def _flush(self) -> None:
        try:
            self.store.flush()
        except AuditError as exc:
            self._fail(exc)
            raise

    def _commit(self) -> None:
        # Group commit: one write, and one fdatasync, for every record appended so far; the
        # crawl goes on meanwhile, and records appended during the sync wait for the next one.
        self._scheduled = False
        if self._in_sync is not None:
            return  # _sync_done starts the next batch
        batch, self._waiting = self._waiting, []
        fds: list[int] = []
        if self.failure is None:
            try:
                self.store.flush()  # written: a crash of this process loses none of them
                if self.durable and (batch or self._lazy_due):
                    fds = self.store.take_dirty()
            except AuditError as exc:
                self._fail(exc)
        if self.failure is not None:
            self._refuse(batch)  # after any failure nothing more is written, synced or sent
            return
        if not fds and not batch:
            if self.durable and self.store.unsynced():
                self._sync_later()  # nothing waits on them: synced with the next batch
            else:
                self._lazy_due = False  # a checkpoint's own sync took them: nothing is due
                self._checkpoints()
            return
        assert self._sync is not None  # records to sync or requests waiting: durable mode
        self._lazy_due = False  # this sync takes every record written so far
        self._in_sync = batch
        self.crawler.stats.inc_value(SYNCS_STAT)
        self._sync.start(fds)  # may answer at once (_sync_done) when it cannot start

    def _sync_later(self) -> None:
        if self._lazy is None:
            self._lazy = _reactor().callLater(LAZY_SYNC_SECONDS, self._lazy_sync)

    def _lazy_sync(self) -> None:
        self._lazy = None
        if self.failure is None and self.store.unsynced():
            self._lazy_due = True
            self._schedule()  # a sync running now leaves it to _sync_done's next commit

    def _cancel_lazy(self) -> None:
        lazy, self._lazy = self._lazy, None
        if lazy is not None and lazy.active():
            lazy.cancel()

    def _sync_done(self, error: AuditError | None) -> None:
        batch, self._in_sync = self._in_sync or [], None
        if error is not None:
            self._fail(error)  # first: close() must find the failure when it wakes
        else:
            self._checkpoints()  # a failure here refuses this batch too: nothing goes on after
        if self.failure is not None:
            self._refuse(batch)
        else:
            for waiter in batch:
                _release(waiter)  # durable: these requests may go on now
            if self._waiting or self.store.unsynced():
                self._schedule()
        idle, self._idle = self._idle, []
        for waiter in idle:  # last: close() may go on now
            waiter.callback(None)

    def _refuse(self, batch: list[Waiter]) -> None:
        assert self.failure is not None
        for waiter in [*batch, *self._waiting]:
            _release(waiter, self.failure)
        self._waiting = []

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
        self._cancel_lazy()  # closing syncs everything (store.close)
        # A sync still running (helper or thread) holds the logs' fds: let it finish first.
        while self._in_sync is not None:
            idle: Deferred[None] = Deferred()
            self._idle.append(idle)
            await maybe_deferred_to_future(idle)
        self._cancel_lazy()  # the batch that ended may have asked for one again
        if self._sync is not None:
            self._sync.close()
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
