"""The response's own `Content-Usage` header (IETF AIPREF, draft-ietf-aipref-attach): the same
vocabulary as the robots.txt record (`train-ai=n`, `search=n`), for this response alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.core.decision import CheckResult, Outcome, Reason
from polite_crawl.signals.content_signal import header_refusals

if TYPE_CHECKING:
    from polite_crawl.core.response_checks import Fetched

NAME = "content_usage"
PASSED = CheckResult(NAME, Outcome.PASS, Reason.ALLOWED)  # one object: a pass per response


def check(fetched: Fetched) -> CheckResult:
    values = fetched.header("content-usage")
    found = header_refusals(values, fetched.purposes) if values else []
    if not found:
        return PASSED
    first = found[0]
    return CheckResult(
        NAME,
        Outcome.DENY,
        Reason.OPTOUT_CONTENT_USAGE,
        {
            "from": "the response's Content-Usage header",
            "text": first.text[:200],
            "category": first.category,
            "purpose": first.purpose.value,
        },
    )
