"""Run by tests/test_audit_failure_paths.py in a process of its own (it installs a reactor).

argv: scenario (checkpoint | closing | closing_lazy), reactor (asyncio | epoll), syncer
(helper | thread).
Prints one JSON line: which waiting requests were sent or refused, what was written and signed.
"""

from __future__ import annotations

import errno
import json
import os
import pathlib
import sys
import tempfile
import threading
from typing import Any

SCENARIO, REACTOR, SYNCER = sys.argv[1:4]
if REACTOR == "epoll":
    from twisted.internet import epollreactor

    epollreactor.install()  # type: ignore[no-untyped-call]
else:
    from scrapy.utils.reactor import install_reactor

    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")

from scrapy.utils.defer import deferred_from_coro  # noqa: E402
from twisted.internet import reactor as _installed  # noqa: E402

import polite_crawl.audit.syncer as syncer  # noqa: E402
import polite_crawl.shell.journal as auditing  # noqa: E402
from polite_crawl.audit.logfile import AuditError  # noqa: E402
from polite_crawl.audit.store import AuditStore  # noqa: E402

reactor: Any = _installed  # typed as an interface in Twisted's stubs

if SYNCER == "thread":

    def _no_helper(self: Any) -> None:
        raise syncer.SyncHelperError(0, "no helper in this scenario")

    syncer.SyncHelper.__init__ = _no_helper  # type: ignore[method-assign]


class Stats:
    def inc_value(self, key: str, count: int = 1) -> None:
        pass


class Crawler:
    engine = None
    spider = None
    stats = Stats()


directory = pathlib.Path(tempfile.mkdtemp())
store = AuditStore(directory, contact=None, checkpoint_every=2, buffered=True)
audit = auditing.DurableAudit(Crawler(), store, durable=True)  # type: ignore[arg-type]
results: dict[str, str] = {}


async def _outcome(name: str, waiting: Any) -> None:
    try:
        await waiting
    except Exception:  # the outcome is what is recorded
        results[name] = "refused"
    else:
        results[name] = "sent"


def track(name: str, waiting: Any) -> None:
    deferred_from_coro(_outcome(name, waiting))


def eio(fd: Any) -> None:
    raise OSError(errno.EIO, "EIO injected")


def checkpoint_sync_fails() -> None:
    # Every fdatasync of this process fails from now on: the batch's (thread) or only the
    # checkpoint's (with the helper, whose own fdatasync works). Either way neither request may
    # go, and nothing may be signed.
    track("A", audit.write(None, {"type": "decision", "url": "http://a/"}))
    audit._commit()
    track("B", audit.write(None, {"type": "decision", "url": "http://b/"}))
    os.fdatasync = eio


release = threading.Event()


def late_failing_sync(fds: list[int]) -> None:
    release.wait(5)
    raise AuditError(errno.EIO, "cannot sync the audit log: EIO injected")


def batch_fails_while_closing() -> None:
    # The last batch is in flight when the crawl closes, and fails: close() must then write no
    # run.end and sign nothing, and the request waiting on it is refused.
    track("A", audit.write(None, {"type": "decision", "url": "http://a/"}))
    _hold_the_helper()
    audit._commit()
    _close_while_in_sync()


def _hold_the_helper() -> None:
    sync = audit._sync
    if isinstance(sync, auditing._HelperSync):
        sync._helper.request = lambda fds: None  # type: ignore[method-assign]  # held back


def lazy_batch_fails_while_closing() -> None:
    # The same with the lazy sync of a record nothing waits on in flight (shell/journal.py):
    # it fails as the crawl closes, and close() must write no run.end and sign nothing.
    audit.write_soon(None, {"type": "fetched", "url": "http://a/"})
    _hold_the_helper()
    reactor.callLater(auditing.LAZY_SYNC_SECONDS * 3, _close_while_in_sync)


def _close_while_in_sync() -> None:
    assert audit._in_sync is not None, "no sync in flight"
    sync = audit._sync
    closing = deferred_from_coro(audit.close({"reason": "finished"}))
    closing.addBoth(lambda _: results.__setitem__("closed", "yes"))
    if SYNCER == "thread":
        reactor.callLater(0.2, release.set)
    else:
        assert isinstance(sync, auditing._HelperSync)
        reactor.callLater(0.2, sync._helper.process.kill)  # it never answered: see below


def finish() -> None:
    entries = (directory / "logs" / "_sites" / "entries.jsonl").read_bytes()
    checkpoints = directory / "logs" / "_sites" / "checkpoints.log"
    outcome = {
        "results": results,
        "failed": audit.failure is not None,
        "run_end": b'"run.end"' in entries,
        "signed": checkpoints.exists() and bool(checkpoints.read_text().strip()),
    }
    print(json.dumps(outcome), flush=True)
    reactor.stop()


if SCENARIO == "checkpoint":
    reactor.callLater(0, checkpoint_sync_fails)  # in the running loop, as a crawl calls it
else:
    if SYNCER == "thread":
        setattr(auditing, "sync_fds", late_failing_sync)  # noqa: B010 - the thread's sync
    closing_case = (
        batch_fails_while_closing if SCENARIO == "closing" else lazy_batch_fails_while_closing
    )
    reactor.callLater(0, closing_case)
reactor.callLater(2.0, finish)
reactor.run()
