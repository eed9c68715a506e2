"""What the gate decided about a request, held until the request goes on the wire.

The gate (downloader middleware 100) decides before every other downloader middleware has run;
any of them could still change the request in place (DefaultHeaders adds a Host header,
a User-Agent rotation middleware swaps the browser string, a middleware rewrites the URL through
a private API). At the download handler the request is compared with its ticket: whatever
differs from what was decided and recorded is refused there, not sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from polite_crawl.core.decision import Reason

if TYPE_CHECKING:
    from polite_crawl.botauth.sign import SignedRequest


class Ticket(NamedTuple):
    """The request as decided and recorded (headers as sent: None when absent)."""

    url: str
    method: str
    host_header: str | None
    user_agent: str | None
    delay: float = 0.0  # seconds the host wants between requests (Crawl-delay, min_delay)
    platform: str | None = None  # the log the decision went to
    # Web Bot Auth: the parameters its decision record holds and the headers made with them
    # (None: signing is off, or a preflight, signed at the wire).
    signed: SignedRequest | None = None


class Sent(NamedTuple):
    """The request as it is about to be sent."""

    url: str
    method: str
    host_header: str | None
    user_agent: str | None


# Checked in this order; the first difference names the refusal.
_FIELDS = (
    ("url", Reason.WIRE_URL_CHANGED),
    ("method", Reason.WIRE_METHOD_CHANGED),
    ("host_header", Reason.WIRE_HOST_HEADER_CHANGED),
    ("user_agent", Reason.WIRE_USER_AGENT_CHANGED),
)


def difference(ticket: Ticket | None, sent: Sent) -> tuple[Reason, dict[str, object]] | None:
    """None when sent is what the ticket decided; else the reason and what differs (every
    changed field, decided and sent)."""
    if ticket is None:
        return Reason.WIRE_NOT_DECIDED, {"sent": sent._asdict()}
    if (
        ticket.url == sent.url
        and ticket.method == sent.method
        and ticket.host_header == sent.host_header
        and ticket.user_agent == sent.user_agent
    ):
        return None
    changed = [
        (name, reason) for name, reason in _FIELDS if getattr(ticket, name) != getattr(sent, name)
    ]
    return changed[0][1], {
        "decided": {name: getattr(ticket, name) for name, _ in changed},
        "sent": {name: getattr(sent, name) for name, _ in changed},
    }
