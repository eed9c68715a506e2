"""Web Bot Auth in a crawl (POLITE_CRAWL_WEB_BOT_AUTH): every request that leaves is signed, and
the nonce of every signature sent is in a record written before the request left.

Two places, one rule (docs/bot-auth.md, "What the log holds"):

- At decision time (decide.py), a request the gate lets go gets fresh parameters and is signed
  with them; its decision record carries `signature` (the parameters and the signature base's
  sha256) and its ticket the headers, in memory only: an unexpired signature is a bearer token.
- At the wire (wire.py, after the wire check and the pacer's wait, right before the handler),
  those headers are put on the request. A request with none (a preflight: robots.txt,
  tdmrep.json, ai.txt, or a redirect hop of one), one whose parameters went stale while it
  waited (a Crawl-delay queue longer than their lifetime), or one report-only mode let through
  changed gets new parameters there, in a `request.signed` record written ahead: the request
  waits until that record is durable, as an allowed one waits for its decision.

A signature that cannot be made (BotAuthError) is a refusal, `wire.not_signed`, recorded and
enforced in both modes: nothing unsigned is sent.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, NoReturn

from polite_crawl.audit.logfile import AuditError
from polite_crawl.botauth.errors import BotAuthError
from polite_crawl.core.decision import Decision, Reason, Verdict
from polite_crawl.exceptions import PolicyViolation
from polite_crawl.shell import records
from polite_crawl.shell.journal import not_sent

if TYPE_CHECKING:
    from scrapy import Request

    from polite_crawl.botauth.sign import SignedRequest
    from polite_crawl.core.wire import Ticket
    from polite_crawl.shell.crawl import CrawlState

logger = logging.getLogger(__name__)

SIGNED_HEADERS = (b"Signature-Agent", b"Signature-Input", b"Signature")


def at_decision(state: CrawlState, method: str, url: str) -> SignedRequest | BotAuthError | None:
    """For a request the gate lets go: its signature, None when signing is off, or the error
    that makes it unsendable."""
    signer = state.signer
    if signer is None:
        return None
    try:
        return signer.sign(method, url)
    except BotAuthError as exc:
        return exc


def not_signed(error: BotAuthError) -> Decision:
    return Decision(Verdict.DENY, Reason.WIRE_NOT_SIGNED, {"wire": {"error": str(error)}}, ())


def _cause(state: CrawlState, request: Request, ticket: Ticket | None, now: float) -> str | None:
    """Why the request needs parameters of its own at the wire; None: its decision's will do."""
    signed = ticket.signed if ticket is not None else None
    if signed is None:
        return "preflight" if state.files.owns(request) else "undecided"
    if ticket is not None and (request.url != ticket.url or request.method != ticket.method):
        return "changed"  # report-only mode let a changed request through: sign what is sent
    if not signed.params.fresh_at(now):
        return "expired"
    return None


async def on_wire(state: CrawlState, request: Request, ticket: Ticket | None) -> None:
    """Put the signature headers on a request about to be sent (signing on), new parameters
    recorded and durable first where its decision's cannot be used. Raises PolicyViolation
    (wire.not_signed) or IgnoreRequest (the audit log failed): then it is not sent."""
    signer = state.signer
    if signer is None:
        return
    cause = _cause(state, request, ticket, signer.clock())
    signed = ticket.signed if ticket is not None else None
    if cause is not None or signed is None:
        replaced = signed.params.nonce if signed is not None else None
        platform = state.platform_of(request.url)
        try:
            signed = signer.sign(request.method, request.url)
        except BotAuthError as exc:
            _refuse(state, request, platform, exc)
        record: dict[str, Any] = {
            "type": "request.signed",
            "url": request.url,
            "method": request.method,
            "platform": platform,
            "cause": cause,
            "signature": signed.record(),
        }
        if cause == "preflight":
            record["kind"] = state.files.kind_of(request)
        if replaced is not None:  # the decision's nonce, never sent: the join must not expect it
            record["replaces"] = replaced
        try:
            waiting = state.audit.write(platform, record)  # write-ahead, as for an allow
        except AuditError as exc:
            raise not_sent(exc) from None
        if waiting is not None:
            await waiting
        state.stats.inc_value(f"polite_crawl/bot_auth/signed_at_wire/{cause}")
    headers = signed.headers.headers()
    for name in SIGNED_HEADERS:  # none left over from another request (a redirect's copy)
        request.headers.pop(name, None)
    for field, value in headers.items():
        request.headers[field] = value
    state.stats.inc_value("polite_crawl/bot_auth/signed")


def _refuse(
    state: CrawlState, request: Request, platform: str | None, exc: BotAuthError
) -> NoReturn:
    decision = not_signed(exc)
    ctx = state.decider.context(request.url, request.method)
    record = records.decision(ctx, decision, mode=state.settings.mode, enforced=True, via=None)
    try:
        state.audit.write_soon(platform, {**record, "platform": platform})
    except AuditError as audit_error:
        raise not_sent(audit_error) from None
    code = decision.reason.value
    state.counts.add(f"deny/{code}")
    state.stats.inc_value(f"polite_crawl/denied/{code}")
    logger.error(
        "polite_crawl: %(url)s not sent: cannot sign it (%(error)s)",
        {"url": request.url, "error": exc},
    )
    raise PolicyViolation(request.url, decision)
