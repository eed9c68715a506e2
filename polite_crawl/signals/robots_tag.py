"""X-Robots-Tag headers and robots meta tags (draft-illyes-repext; Google's documentation;
DeviantArt's `noai`/`noimageai`).

- Every header instance counts, each may hold a comma list, values are case-insensitive.
- A value may be scoped to a product token: `X-Robots-Tag: examplebot: noai` applies to
  examplebot only; an unscoped value applies to every crawler.
- `<meta name="robots">` applies to every crawler, `<meta name="examplebot">` to us only.
- `none` means `noindex, nofollow`. Unknown directives are kept (they cost nothing) and
  `unavailable_after: <date>` is read as a directive name only.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from polite_crawl.signals.meta import meta_contents

if TYPE_CHECKING:
    from collections.abc import Iterable

MAX_VALUE = 8192  # longer header values are cut: a directive list is never that long
_TOKEN = re.compile(r"[a-z_-]+")


def directives(values: Iterable[str], token: str) -> frozenset[str]:
    """The directives that apply to `token` from X-Robots-Tag header values."""
    token = token.lower()
    found: set[str] = set()
    for raw in values:
        scope: str | None = None
        for part in raw[:MAX_VALUE].split(","):
            part = part.strip().lower()
            if not part:
                continue
            head, sep, rest = part.partition(":")
            head = head.strip()
            # "examplebot: noai" scopes what follows; "unavailable_after: ..." does not.
            if sep and _TOKEN.fullmatch(head) and head not in _KNOWN:
                scope, part = head, rest.strip()
                if not part:
                    continue
            if scope is not None and scope != token:
                continue
            found.add(part.split(":", 1)[0].strip())
    return _expand(found)


def meta_directives(html: bytes, token: str) -> frozenset[str]:
    """Directives from `<meta name="robots">` and `<meta name="<token>">` tags."""
    token = token.lower()
    found = meta_contents(html, frozenset({"robots", token}))
    return directives([content for _, content in found], token)


_KNOWN = frozenset(
    {
        "all",
        "none",
        "index",
        "noindex",
        "follow",
        "nofollow",
        "noarchive",
        "nosnippet",
        "noimageindex",
        "notranslate",
        "noai",
        "noimageai",
        "unavailable_after",
        "max-snippet",
        "max-image-preview",
        "max-video-preview",
        "indexifembedded",
    }
)


def _expand(found: set[str]) -> frozenset[str]:
    if "none" in found:
        found |= {"noindex", "nofollow"}
    return frozenset(found)
