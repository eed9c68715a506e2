"""What the gate decides, and why: verdicts, the closed set of reason ids, and the trace."""

from __future__ import annotations

from enum import Enum
from typing import Any, NamedTuple


class Verdict(str, Enum):
    ALLOW = "allow"
    DENY = "deny"
    DISCARD = "discard"


class Reason(str, Enum):
    """Stable reason ids. They appear in stats keys, audit records and docs: never rename one."""

    ALLOWED = "allowed"
    LOCAL_SCHEME = "scheme.local"
    UNSUPPORTED_SCHEME = "scheme.unsupported"
    HOST_HEADER = "request.host_header"
    INTERNAL_ADDRESS = "request.internal_address"
    USER_AGENT = "request.user_agent"
    NO_POLICY = "tos.no_policy"
    TOS_ALLOWED = "tos.allowed"
    TOS_PROHIBITED = "tos.prohibited"
    TOS_CONSENT_REQUIRED = "tos.consent_required"
    TOS_CONTACT_REQUIRED = "tos.contact_required"
    CONSENT_GRANTED = "consent.granted"
    OPTOUT_NOAI = "optout.noai"
    OPTOUT_NOIMAGEAI = "optout.noimageai"
    OPTOUT_NOINDEX = "optout.noindex"
    OPTOUT_NOIMAGEINDEX = "optout.noimageindex"
    OPTOUT_UNREADABLE_HEAD = "optout.unreadable_head"
    OPTOUT_CONTENT_SIGNAL = "optout.content_signal"
    OPTOUT_CONTENT_USAGE = "optout.content_usage"
    OPTOUT_XMP_DATA_MINING = "optout.xmp_data_mining"
    OPTOUT_C2PA_TRAINING_MINING = "optout.c2pa_training_mining"
    TDMREP_RESERVED = "tdmrep.reserved"
    TDMREP_UNREACHABLE = "tdmrep.unreachable"
    AITXT_DISALLOWED = "aitxt.disallowed"
    AITXT_UNREACHABLE = "aitxt.unreachable"
    ROBOTS_ALLOWED = "robots.allowed"
    ROBOTS_DISALLOWED = "robots.disallowed"
    ROBOTS_UNAVAILABLE = "robots.unavailable"
    ROBOTS_UNREACHABLE = "robots.unreachable"
    # Found at the download handler: the request about to go on the wire is not the one the
    # gate decided (a downloader middleware after the gate changed it), or was never decided.
    WIRE_URL_CHANGED = "wire.url_changed"
    WIRE_METHOD_CHANGED = "wire.method_changed"
    WIRE_HOST_HEADER_CHANGED = "wire.host_header_changed"
    WIRE_USER_AGENT_CHANGED = "wire.user_agent_changed"
    WIRE_NOT_DECIDED = "wire.not_decided"
    WIRE_NOT_SIGNED = "wire.not_signed"
    # Fleet mode: the state the workers share (Redis) could not be read or written in time.
    FLEET_UNAVAILABLE = "fleet.unavailable"
    # Browser crawls (scrapy-playwright): the gate could not decide a request the browser
    # makes (an error, or no answer in time), or the browser opened a protocol it does not
    # decide (a WebSocket). The browser request is aborted.
    BROWSER_GATE_FAILED = "browser.gate_failed"
    BROWSER_WEBSOCKET = "browser.websocket"
    # An answer fetched for the browser (a subresource) over DOWNLOAD_MAXSIZE: kept from the
    # page, in either mode.
    BROWSER_TOO_LARGE = "browser.too_large"


# Refusals that protect the crawler's own side rather than a site's wishes: report-only mode
# records them as enforced and sends nothing (a redirect to the cloud metadata service must not
# be followed to see what would happen).
# A request whose Web Bot Auth signature cannot be made is not sent in either mode: the crawl
# was told to sign every request.
# A fleet whose shared state failed is not sent either: its workers would each fetch and pace
# alone, many times what a site asked for.
# A browser request the gate could not decide, or a WebSocket, has no decision to report on:
# it is not sent in either mode.
ENFORCED_IN_EVERY_MODE = frozenset(
    {
        Reason.INTERNAL_ADDRESS,
        Reason.WIRE_NOT_SIGNED,
        Reason.FLEET_UNAVAILABLE,
        Reason.BROWSER_GATE_FAILED,
        Reason.BROWSER_WEBSOCKET,
    }
)


# A check's own answer. PASS lets the next check run; ALLOW ends the gate early (nothing after it
# could matter, e.g. a data: URL); DENY ends it with a refusal.
class Outcome(str, Enum):
    PASS = "pass"
    ALLOW = "allow"
    DENY = "deny"


Evidence = dict[str, Any]
_NONE: Evidence = {}  # the evidence of a result that cites nothing; shared, never written to


# Results and decisions are named tuples, not frozen dataclasses: every request makes several,
# and a tuple is built in C (a frozen dataclass sets each field through object.__setattr__).
# Both are immutable either way; evidence dicts are filled before the result is made, then read.
class CheckResult(NamedTuple):
    check: str
    outcome: Outcome
    reason: Reason
    evidence: Evidence = _NONE


class NeedsPreflight(NamedTuple):
    """A network check's answer while the origin-level file it reads is not known (or has
    expired): the gate answers Pending, the shell fetches these kinds and asks again."""

    kinds: tuple[str, ...]


class Decision(NamedTuple):
    """The gate's single answer for one request, with every check that ran."""

    verdict: Verdict
    reason: Reason
    evidence: Evidence
    trace: tuple[CheckResult, ...]

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW

    def to_record(self) -> dict[str, Any]:
        return {
            "decision": self.verdict.value,
            "reason": self.reason.value,
            "evidence": self.evidence,
            "trace": [
                {"check": r.check, "outcome": r.outcome.value, "reason": r.reason.value}
                for r in self.trace
            ],
        }
