"""Checks of a fetched response: the second line, after the fetch.

What only the response reveals (its own headers, metadata embedded in its body) can still forbid
a declared purpose. Each check is one module with one function `check(fetched) -> CheckResult`
(PASS, or DENY with a reason id and its evidence); polite_crawl/shell/discard.py runs them in order
and turns the first DENY into a `discard` decision. Scrapy-free: the Scrapy response is turned
into a Fetched first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from polite_crawl.core.decision import CheckResult
from polite_crawl.core.purposes import Kind
from polite_crawl.signals.containers import image_format

if TYPE_CHECKING:
    from collections.abc import Mapping

    from polite_crawl.core.purposes import Purpose
    from polite_crawl.signals.memory import Inherited


@dataclass
class Fetched:
    """A response as the checks see it."""

    url: str
    headers: Mapping[str, list[str]]  # lower-case names, every instance of each, latin-1
    body: bytes
    purposes: frozenset[Purpose]
    token: str  # our robots.txt product token
    inherited: Inherited | None = None  # what the page that linked it said
    _sha256: str | None = field(default=None, repr=False)

    def header(self, name: str) -> list[str]:
        return self.headers.get(name.lower(), [])

    @property
    def content_type(self) -> str:
        values = self.header("content-type")
        return values[0].strip().lower() if values else ""

    @property
    def format(self) -> str | None:
        """ "jpeg", "png" or "webp" from the body's magic bytes, whatever the headers say."""
        return image_format(self.body)

    @property
    def kind(self) -> Kind:
        """An image if it says so, was embedded as one, or looks like one."""
        if (
            self.content_type.startswith("image/")
            or (self.inherited is not None and self.inherited.kind is Kind.IMAGE)
            or self.format is not None
        ):
            return Kind.IMAGE
        return self.inherited.kind if self.inherited is not None else Kind.PAGE

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = hashlib.sha256(self.body).hexdigest()
        return self._sha256


ResponseCheck = Callable[[Fetched], CheckResult]
