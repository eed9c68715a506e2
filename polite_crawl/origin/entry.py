"""One origin-level file fetch as the per-origin caches keep it (see store.py for what each
state means). A million of these must fit in memory: an entry keeps no body (the audit
evidence store keeps the bytes), shares its content with every origin that served the same
bytes, and keeps one URL string unless the fetch was redirected."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic

from polite_crawl.origin.compact import Content, Doc
from polite_crawl.origin.fetch import FetchResult


class FileState(str, Enum):
    """What a fetch of an origin file came to (the values are stats keys and record values)."""

    PARSED = "parsed"
    UNAVAILABLE = "unavailable"
    UNREACHABLE = "unreachable"


_UNREACHABLE = FileState.UNREACHABLE  # read once per module: in_force runs per request


@dataclass(frozen=True, slots=True)
class Entry(Generic[Doc]):
    state: FileState
    robots_url: str
    redirected_to: str | None  # the final URL when it is not the file's own
    status: int | None
    error: str | None
    fetched_at: float
    digest: bytes  # sha256 of the body as received
    expires_at: float
    content: Content[Doc] | None = None  # PARSED only
    failures: int = 0  # consecutive unreachable fetches, for backoff
    fallback: Entry[Doc] | None = field(default=None, repr=False)  # the last good copy
    fallback_usable: bool = True  # False while the site answers 429 (slow down)

    @property
    def final_url(self) -> str:
        return self.redirected_to or self.robots_url

    @property
    def sha256(self) -> str:
        return self.digest.hex()

    @property
    def rules(self) -> Doc | None:
        """The file as read (PARSED only)."""
        return self.content.doc() if self.content is not None else None

    @property
    def truncated(self) -> bool:
        return self.content is not None and self.content.truncated

    @property
    def invalid_utf8(self) -> bool:
        return self.content is not None and self.content.invalid_utf8

    @property
    def fetch(self) -> FetchResult:
        """The fetch this entry stems from, without its body."""
        return FetchResult(
            self.robots_url,
            self.final_url,
            self.status,
            error=self.error,
            fetched_at=self.fetched_at,
        )

    def contents(self) -> tuple[Content[Doc], ...]:
        """The shared contents this entry keeps alive (its own, its fallback's)."""
        held = (self.content, self.fallback.content if self.fallback else None)
        return tuple(c for c in held if c is not None)

    def in_force(self) -> Entry[Doc] | None:
        """The entry whose content governs: this one, or while the origin is unreachable its
        last good copy (None when there is none, or the site asked us to slow down)."""
        if self.state is not _UNREACHABLE:
            return self
        return self.fallback if self.fallback_usable else None

    def evidence(self) -> dict[str, Any]:
        robots_url = self.robots_url
        ev: dict[str, Any] = {
            "robots_url": robots_url,
            "final_url": self.redirected_to or robots_url,
            "status": self.status,
            "sha256": self.sha256,
            "fetched_at": self.fetched_at,
            "state": self.state.value,
        }
        if self.error:
            ev["error"] = self.error
        if self.truncated:
            ev["truncated"] = True
        return ev
