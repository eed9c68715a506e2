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

if TYPE_CHECKING:
    from collections.abc import Iterable

MAX_VALUE = 8192  # longer header values are cut: a directive list is never that long
_META = re.compile(rb"<meta\b[^>]{0,2048}>", re.IGNORECASE)
_ATTR = re.compile(rb"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_TOKEN = re.compile(r"[a-z_-]+")
MAX_HTML = 512 * 1024  # robots meta tags live in <head>: the first 512 KiB are read


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
    values: list[str] = []
    for tag in _META.finditer(html[:MAX_HTML]):
        attrs = {
            m.group(1).lower(): (m.group(2) or m.group(3) or m.group(4) or b"")
            for m in _ATTR.finditer(tag.group(0))
        }
        name = attrs.get(b"name", b"").decode("latin-1").strip().lower()
        if name in ("robots", token):
            values.append(attrs.get(b"content", b"").decode("latin-1"))
    return directives(values, token)


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
