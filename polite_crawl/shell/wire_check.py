"""The wire check: the request that reaches the download handler must be the one decided (URL,
method, Host, User-Agent; see core/wire.py), whatever the downloader middlewares after the gate
did to it. A difference is refused (PolicyViolation) and recorded in the log of the platform
the request would have reached, or in report-only mode recorded and let through."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from polite_crawl.audit.logfile import AuditError
from polite_crawl.audit.redact import redact_url
from polite_crawl.core.decision import Decision, Verdict
from polite_crawl.core.wire import Sent, difference
from polite_crawl.exceptions import PolicyViolation
from polite_crawl.shell import records
from polite_crawl.shell._compat import header_values
from polite_crawl.shell.journal import not_sent

if TYPE_CHECKING:
    from scrapy import Request

    from polite_crawl.core.wire import Ticket
    from polite_crawl.shell.crawl import CrawlState

logger = logging.getLogger(__name__)


def header(request: Request, name: bytes) -> str | None:
    """The header as it goes on the wire. Headers.get() reads only the last of several values,
    while every one is sent: several are joined by a line break, which no single value on the
    wire can hold, so they never equal one decided value (and the identity check refuses them)."""
    values = header_values(request.headers, name)
    if not values:
        return None
    if len(values) == 1:
        return values[0].decode("latin-1")
    return "\n".join(v.decode("latin-1") for v in values)


def on_wire(state: CrawlState, request: Request) -> Ticket | None:
    """The request about to be sent: its ticket when it is what was decided; a difference is
    refused here (PolicyViolation) and recorded, or in report-only mode recorded and let
    through."""
    ticket = state.tickets.pop(request, None) or state.files.ticket(request)
    sent = Sent(
        request.url, request.method, header(request, b"Host"), header(request, b"User-Agent")
    )
    found = difference(ticket, sent)
    if found is None:
        return ticket
    reason, evidence = found
    params = state.audit.store.redact_params
    for side in evidence.values():
        if isinstance(side, dict) and isinstance(side.get("url"), str):
            side["url"] = redact_url(side["url"], params)  # credentials never in the log
    ctx = state.decider.context(
        sent.url, sent.method, user_agent=sent.user_agent, host_header=sent.host_header
    )
    decision = Decision(Verdict.DENY, reason, {"wire": evidence}, ())
    record = records.decision(
        ctx, decision, mode=state.settings.mode, enforced=state.enforce, via=None
    )
    # In the log of the platform the request would have reached, and in the one its allow
    # went to if that is another.
    platforms = {ctx.platform.id if ctx.platform else None}
    if ticket is not None:
        platforms.add(ticket.platform)
    try:
        for platform in sorted(platforms, key=lambda p: p or ""):
            # Each log's copy names that log's platform (docs/format.md R3): in the allow's log
            # it is the refusal of what that platform's decision let go.
            state.audit.write_soon(platform, {**record, "platform": platform})
    except AuditError as exc:
        raise not_sent(exc) from None
    code = reason.value
    if code not in state.warned_wire:
        state.warned_wire.add(code)
        logger.warning(
            "polite_crawl: %(url)s changed after the gate decided it (%(reason)s: %(what)s); "
            "a downloader middleware after polite_crawl's changes what is sent",
            {"url": request.url, "reason": code, "what": evidence},
        )
    if not state.enforce:
        state.counts.add(f"report/{code}")
        state.stats.inc_value(f"polite_crawl/report_only/would_deny/{code}")
        return ticket
    state.counts.add(f"deny/{code}")
    state.stats.inc_value(f"polite_crawl/denied/{code}")
    raise PolicyViolation(request.url, decision)
