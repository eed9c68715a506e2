"""Fleet pacing at the wire (fleet/pace.py): the host's turn taken for the whole fleet right
before a paced request is sent, given back when its answer is in. Redis failing there refuses
the request, recorded (`fleet.unavailable`): it is not sent on this worker's pace alone."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from polite_crawl.audit.logfile import AuditError
from polite_crawl.core.decision import Decision, Reason, Verdict
from polite_crawl.exceptions import PolicyViolation
from polite_crawl.fleet.errors import FleetError
from polite_crawl.fleet.pace import TurnLater
from polite_crawl.shell import records
from polite_crawl.shell._compat import slot_load
from polite_crawl.shell.journal import not_sent
from polite_crawl.shell.pacing import paced_host
from polite_crawl.shell.parked import Parked
from polite_crawl.shell.wire_check import header

if TYPE_CHECKING:
    from scrapy import Request

    from polite_crawl.fleet.pace import Turn
    from polite_crawl.shell.crawl import CrawlState

logger = logging.getLogger(__name__)


async def take_turn(state: CrawlState, request: Request, host: str, delay: float) -> Turn | None:
    """The fleet's turn at host (None outside fleet mode); PolicyViolation, recorded, when
    Redis fails; Parked when the turn is further away than POLITE_CRAWL_FLEET_PARK_AFTER and
    the crawl can take the request back (parking.py)."""
    if state.fleet is None:
        return None
    try:
        turn = await state.fleet.pacer.acquire(host, delay, _patience(state, request))
    except TurnLater as later:
        raise Parked(request.url, later.wait) from None
    except FleetError as exc:
        raise _refused(state, request, exc) from None
    state.stats.inc_value("polite_crawl/fleet/paced")
    return turn


async def take_rate(state: CrawlState, request: Request, host: str) -> None:
    """The host's next slot under the fleet-wide rate (POLITE_CRAWL_FLEET_HOST_RATE), when one
    is set; PolicyViolation, recorded, when Redis fails; Parked when the slot is far off."""
    fleet = state.fleet
    if fleet is None or fleet.rate is None:
        return
    try:
        await fleet.rate.take(host, _patience(state, request))
    except TurnLater as later:
        raise Parked(request.url, later.wait) from None
    except FleetError as exc:
        raise _refused(state, request, exc) from None


def park_behind_own(state: CrawlState, request: Request, host: str, delay: float) -> None:
    """In a fleet, a paced request behind this worker's own requests to the host goes back to
    the scheduler at once (Parked) rather than wait in a download slot: the host's turns are
    shared with the other workers, so each waits several delays, and a worker whose slots fill
    with one host's requests stalls every other host (docs/fleet.md). At the wire: behind the
    worker's own pacer; before the decision (park_early): behind Scrapy's downloader slot."""
    if state.fleet is None or _patience(state, request) is None:
        return
    ahead = state.pacer.queued(host)
    if ahead:
        raise Parked(request.url, delay * ahead)


def park_early(state: CrawlState, request: Request) -> None:
    """Before a request is decided (no record yet): in a fleet, a request to a host already
    paced here, whose downloader slot or wire turn holds this worker's requests, goes back to
    the scheduler rather than queue in the slot (Scrapy's slot queue counts against
    CONCURRENT_REQUESTS as the wire does)."""
    if state.fleet is None or _patience(state, request) is None:
        return
    host = paced_host(request.url)
    delay = state.pacer.delay_of(host)
    if not delay:
        return
    ahead = state.pacer.queued(host) + slot_load(state.crawler, host)
    if ahead:
        raise Parked(request.url, delay * ahead)


def _patience(state: CrawlState, request: Request) -> float | None:
    """How long the request may wait at the wire before it goes back to the scheduler (None:
    as long as it takes). A preflight (robots.txt, ...) always waits: it is fetched outside the
    scheduler, by object identity, and the decisions of its origin wait on it."""
    if state.parking is None or state.files.owns(request):
        return None
    return state.settings.fleet_park_after


async def give_back(state: CrawlState, turn: Turn | None) -> None:
    """Never raises: the request was sent and answered. If Redis fails here, the turn expires
    by itself (the lease plus the delay) and the host is not reached meanwhile."""
    if turn is None or state.fleet is None:
        return
    try:
        await state.fleet.pacer.release(turn)
    except FleetError as exc:
        logger.error(
            "polite_crawl: could not give back the fleet's turn at %s: %s", turn.host, exc
        )


def unavailable(state: CrawlState, exc: FleetError) -> Decision:
    """The refusal of a request the fleet's state failed for; said once per failure in the log
    (each refusal is recorded), when the crawl closes or pauses for it."""
    if state.fleet is not None and not state.fleet.failing:
        logger.error(
            "polite_crawl: the fleet's shared state failed (%(error)s): requests that need it "
            "are refused (fleet.unavailable)",
            {"error": exc},
        )
        state.fleet.failed(state.crawler)  # close, or pause until Redis answers again
    return Decision(Verdict.DENY, Reason.FLEET_UNAVAILABLE, {"fleet": {"error": str(exc)}}, ())


def _refused(state: CrawlState, request: Request, exc: FleetError) -> PolicyViolation:
    ctx = state.decider.context(
        request.url,
        request.method,
        user_agent=header(request, b"User-Agent"),
        host_header=header(request, b"Host"),
    )
    decision = unavailable(state, exc)
    record = records.decision(ctx, decision, mode=state.settings.mode, enforced=True, via=None)
    try:
        state.audit.write_soon(ctx.platform.id if ctx.platform else None, record)
    except AuditError as error:
        raise not_sent(error) from None
    code = Reason.FLEET_UNAVAILABLE.value
    state.counts.add(f"deny/{code}")
    state.stats.inc_value(f"polite_crawl/denied/{code}")
    return PolicyViolation(request.url, decision)
