"""DOWNLOAD_MAXSIZE and DOWNLOAD_WARNSIZE for the answers the add-on fetches for the browser
(a page's subresources, through Playwright's HTTP client, which has no size limit of its own):
judged from the size the answer declares before its body is read, and again from the body."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable


def declared_size(headers: Iterable[tuple[str, str]]) -> int | None:
    """The Content-Length an answer declares (None: none, or not one number). Repeated
    values that differ are read as the largest: the stricter reading."""
    sizes = [value.strip() for name, value in headers if name.lower() == "content-length"]
    numbers = [int(size) for size in sizes if size.isdigit()]
    return max(numbers) if numbers else None


def over(size: int | None, limit: int) -> bool:
    """Whether size exceeds limit (0: no limit, as in Scrapy)."""
    return size is not None and limit > 0 and size > limit
