"""Exceptions raised by polite_crawl.

    IgnoreRequest (scrapy)
    └── PolicyViolation          a request the gate refused; .decision says why
    ValueError
    └── SettingsError            a POLITE_CRAWL_* setting or the user agent is unusable

Errbacks can tell a refusal apart from other ignored requests with
`failure.check(PolicyViolation)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest

from polite_crawl.settings import SettingsError

if TYPE_CHECKING:
    from polite_crawl.core.decision import Decision

__all__ = ["PolicyViolation", "SettingsError"]


class PolicyViolation(IgnoreRequest):
    def __init__(self, url: str, decision: Decision) -> None:
        super().__init__(f"polite_crawl refused {url}: {decision.reason.value}")
        self.url = url
        self.decision = decision
