"""The second line, after the fetch: what only the response reveals (its own X-Robots-Tag,
tdm-reservation and Content-Usage headers, the opt-outs embedded in an image) can still keep
it from the spider and the pipelines.

The checks are polite_crawl/core/response_checks/, one per module; this runs them in the order
of RESPONSE_CHECKS (cheap header checks before reading the body) and turns the first refusal
into a `discard` decision. A new response check is one module and one line here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from polite_crawl.audit.logfile import AuditError
from polite_crawl.core.decision import Decision, Outcome, Verdict
from polite_crawl.core.response_checks import (
    Fetched,
    ResponseCheck,
    content_usage,
    page_signals,
    robots_tag,
    tdm_reservation,
)
from polite_crawl.core.response_checks import c2pa_training_mining as c2pa
from polite_crawl.core.response_checks import xmp_data_mining as xmp
from polite_crawl.exceptions import PolicyViolation
from polite_crawl.shell import records
from polite_crawl.shell._compat import header_values
from polite_crawl.shell.links import inherited_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scrapy import Request
    from scrapy.http import Headers, Response

    from polite_crawl.core.decision import CheckResult
    from polite_crawl.core.purposes import Purpose
    from polite_crawl.shell.crawl import CrawlState
    from polite_crawl.signals.memory import Inherited

RESPONSE_CHECKS: tuple[ResponseCheck, ...] = (
    robots_tag.check,
    page_signals.check,
    tdm_reservation.check,
    content_usage.check,
    xmp.check,
    c2pa.check,
)


class _Headers(Mapping[str, list[str]]):
    """A response's headers as the checks read them (lower-case names, latin-1 values), each
    decoded when a check asks for it: most responses are asked about three or four of them."""

    def __init__(self, headers: Headers) -> None:
        self._headers = headers

    def __getitem__(self, name: str) -> list[str]:
        values: list[str] | None = self.get(name)
        if values is None:
            raise KeyError(name)
        return values

    def get(self, name: str, default: Any = None) -> Any:
        # Most headers a check asks for are absent: answered without raising a KeyError.
        values = header_values(self._headers, name)
        return [v.decode("latin-1") for v in values] if values else default

    def __iter__(self) -> Iterator[str]:
        return (key.decode("latin-1").lower() for key in self._headers)

    def __len__(self) -> int:
        return len(self._headers)


def fetched(
    response: Response, inherited: Inherited | None, token: str, purposes: frozenset[Purpose]
) -> Fetched:
    """The Scrapy response as the Scrapy-free checks see it."""
    return Fetched(
        response.url, _Headers(response.headers), response.body, purposes, token, inherited
    )


def judge(facts: Fetched, checks: tuple[ResponseCheck, ...] = RESPONSE_CHECKS) -> Decision | None:
    """A discard decision when a check refuses the response; None when every check passes."""
    trace: list[CheckResult] = []
    for check in checks:
        result = check(facts)
        trace.append(result)
        if result.outcome is Outcome.DENY:
            evidence = {r.check: r.evidence for r in trace if r.evidence}
            return Decision(Verdict.DISCARD, result.reason, evidence, tuple(trace))
    return None


def judge_response(
    response: Response, inherited: Inherited | None, token: str, purposes: frozenset[Purpose]
) -> Decision | None:
    """A discard decision when the response's own signals forbid a declared purpose."""
    return judge(fetched(response, inherited, token, purposes))


def unless_allowed(state: CrawlState, request: Request, response: Response) -> Response:
    """The response, unless its own signals forbid a declared purpose: then it was fetched, and
    is discarded unread (PolicyViolation), recorded; in report-only mode recorded and kept."""
    if state.files.owns(request):
        return response
    config = state.config
    decision = judge_response(
        response, inherited_for(state, request), config.token, config.purposes
    )
    if decision is None:
        return response
    ctx = state.decider.context(request.url, request.method)
    reason = decision.reason.value
    with contextlib.suppress(AuditError):  # a failure has closed the crawl already
        state.audit.write_soon(
            ctx.platform.id if ctx.platform else None,
            records.decision(
                ctx, decision, mode=state.settings.mode, enforced=state.enforce, via=None
            ),
        )
    if not state.enforce:
        state.stats.inc_value(f"polite_crawl/report_only/would_discard/{reason}")
        return response
    state.counts.add(f"discard/{reason}")
    state.stats.inc_value(f"polite_crawl/discarded/{reason}")
    raise PolicyViolation(request.url, decision)
