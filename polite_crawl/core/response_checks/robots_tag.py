"""The response's own X-Robots-Tag (e.g. an image answered with `X-Robots-Tag: noimageai`).
What each directive forbids: polite_crawl/signals/mapping.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.core.checks.signals import refusal
from polite_crawl.core.decision import CheckResult, Outcome, Reason
from polite_crawl.signals.mapping import forbidden
from polite_crawl.signals.robots_tag import directives

if TYPE_CHECKING:
    from polite_crawl.core.response_checks import Fetched

# The evidence key is the one the before-the-fetch signals check uses: one place to look.
NAME = "signals"
PASSED = CheckResult(NAME, Outcome.PASS, Reason.ALLOWED)  # one object: a pass per response


def check(fetched: Fetched) -> CheckResult:
    found = directives(fetched.header("x-robots-tag"), fetched.token)
    if not found:
        return PASSED
    kind = fetched.kind
    hits = forbidden(found, fetched.purposes, kind)
    if not hits:
        return CheckResult(NAME, Outcome.PASS, Reason.ALLOWED, {"directives": sorted(found)})
    return refusal(NAME, hits[0], kind, "the response's X-Robots-Tag", found)
