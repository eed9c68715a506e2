"""The signals of the page a response was requested from, once the response shows it is an
image: a page's image is its image however the page referred to it. Embedded ones (`<img>`,
`srcset`, ...) were judged as images before the fetch; a link to one (a gallery's full-size
file), or a `file_urls` entry, is known to be an image only now. What each directive forbids:
polite_crawl/signals/mapping.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.core.checks.signals import refusal
from polite_crawl.core.decision import CheckResult, Outcome, Reason
from polite_crawl.core.purposes import Kind
from polite_crawl.signals.mapping import forbidden

if TYPE_CHECKING:
    from polite_crawl.core.response_checks import Fetched

NAME = "page_signals"
PASSED = CheckResult(NAME, Outcome.PASS, Reason.ALLOWED)


def check(fetched: Fetched) -> CheckResult:
    inherited = fetched.inherited
    if inherited is None or inherited.kind is Kind.IMAGE:
        return PASSED  # nothing inherited, or already judged as an image before the fetch
    found = inherited.directives | inherited.linked
    if not found or fetched.kind is not Kind.IMAGE:
        return PASSED
    hits = forbidden(found, fetched.purposes, Kind.IMAGE)
    if not hits:
        return PASSED
    return refusal(NAME, hits[0], Kind.IMAGE, inherited.page, found)
