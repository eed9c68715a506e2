"""Pacing where the request leaves for the wire.

Scrapy paces in its downloader slots, whose delay AutoThrottle rewrites after every response
and which dispatch a request when it leaves the slot queue, not when its bytes reach the
server. A Crawl-delay or a policy's min_delay is therefore kept here, at the download handler:
a paced host gets one request at a time, and each leaves no sooner than `delay` seconds after
the previous one to that host *finished* (answered or failed). The server received the previous
request before it answered, so the gap it sees between two requests is never below the delay,
whatever the connection set-up took. A host the crawl has not paced before counts from the
moment its first paced request arrives (its robots.txt was fetched just before).
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater

from polite_crawl.core.authority import by_authority

if TYPE_CHECKING:
    from collections.abc import Callable


def _paced_host(url: str) -> str:
    return (urlsplit(url).hostname or "").rstrip(".")


# The host a request to url is paced as: the URL's own host name, lower case, without the
# trailing dot of an absolute name (site.test. is site.test to DNS and to the server). Read from
# the URL itself, never from Scrapy's per-request cache of an earlier parse; once per authority.
paced_host = by_authority(_paced_host)


class _Host:
    __slots__ = ("busy", "last", "waiting")

    def __init__(self, last: float) -> None:
        self.busy = False  # a paced request to this host is waiting for its time or in flight
        self.last = last  # when the last paced request finished (monotonic seconds)
        self.waiting: deque[Deferred[None]] = deque()


# Hosts remembered before the idle ones are forgotten: a broad crawl meets millions of hosts.
KEEP_HOSTS = 4096


class WirePacer:
    def __init__(
        self, clock: Callable[[], float] = time.monotonic, keep: int = KEEP_HOSTS
    ) -> None:
        self._clock = clock
        self._keep = keep
        self._hosts: dict[str, _Host] = {}
        self._delays: dict[str, float] = {}  # the last delay decided for each paced host

    def __len__(self) -> int:
        return len(self._hosts)

    def _new_host(self, host: str) -> _Host:
        if len(self._hosts) >= self._keep:
            self._forget_idle()
        state = self._hosts[host] = _Host(self._clock())
        return state

    def _forget_idle(self) -> None:
        """Forget the hosts whose delay has run out since their last request and that nothing
        waits for. Safe: a forgotten host met again counts from that moment, as a new one, so
        its next request waits a whole delay (a longer gap than needed, never a shorter one)."""
        now = self._clock()
        idle = [
            host
            for host, state in self._hosts.items()
            if not state.busy
            and not state.waiting
            and now - state.last >= self._delays.get(host, 0.0)
        ]
        for host in idle:
            del self._hosts[host]
            self._delays.pop(host, None)
        # Still full (every host busy or within its delay): grow; the next call tries again.
        if len(self._hosts) >= self._keep:
            self._keep *= 2

    def delay_of(self, host: str) -> float:
        """The delay last decided for host (0: never paced); preflights to it keep it too."""
        return self._delays.get(host, 0.0)

    def learn(self, host: str, delay: float) -> None:
        """A request to host just finished and showed its delay (robots.txt's Crawl-delay, read
        before any request to the host was paced): the next one to it waits for that delay."""
        if delay <= 0:
            return
        self._delays[host] = delay
        state = self._hosts.get(host)
        if state is None:
            self._new_host(host)
        elif not state.busy:
            state.last = max(state.last, self._clock())

    def queued(self, host: str) -> int:
        """How many of this crawl's requests to host hold or await its turn."""
        state = self._hosts.get(host)
        return 0 if state is None or not state.busy else 1 + len(state.waiting)

    async def acquire(self, host: str, delay: float) -> None:
        """Wait for host's turn. Once this returns, the caller must call release(host) when
        the request is done, whatever its outcome; if this raises (the download was
        cancelled), the turn is already passed on."""
        self._delays[host] = delay
        state = self._hosts.get(host)
        if state is None:
            state = self._new_host(host)
        waiter: Deferred[None] | None = None
        try:
            if state.busy:
                waiter = Deferred()
                state.waiting.append(waiter)
                await maybe_deferred_to_future(waiter)  # release() hands the turn over
            state.busy = True
            wait = state.last + delay - self._clock()
            if wait > 0:
                # Imported here: importing it at module level would install the default
                # reactor before Scrapy installs the configured one.
                from twisted.internet import reactor

                await maybe_deferred_to_future(deferLater(reactor, wait))
        except BaseException:
            if waiter is not None and waiter in state.waiting:
                state.waiting.remove(waiter)  # never had the turn
            else:
                self._pass_on(state)  # had it: a cancelled wait must not stall the host
            raise

    def release(self, host: str) -> None:
        state = self._hosts[host]
        state.last = self._clock()
        self._pass_on(state)

    @staticmethod
    def _pass_on(state: _Host) -> None:
        if state.waiting:
            state.waiting.popleft().callback(None)  # the next one's turn: busy stays True
        else:
            state.busy = False
