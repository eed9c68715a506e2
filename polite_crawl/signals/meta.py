"""`<meta name=... content=...>` tags of an HTML page, read without an HTML parser: a bounded
scan that no markup can make slow.

Meta tags live in `<head>`, which an inline script or style can make long (a 600 KiB script
once hid a `noimageai` after it). The scan reads up to MAX_HEAD bytes and says whether it saw
the whole head: the end of the page, `</head>` or `<body` within the limit. A page whose head
goes on past the limit carries signals nobody can know (the spider middleware then treats it as
forbidding every purpose a page's signals can refuse).
"""

from __future__ import annotations

import re
from typing import NamedTuple

MAX_HEAD = 2 * 1024 * 1024  # bytes of a page read for its meta tags
_META = re.compile(rb"<meta\b[^>]{0,2048}>", re.IGNORECASE)
_ATTR = re.compile(rb"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_HEAD_END = re.compile(rb"</head\b|<body\b", re.IGNORECASE)


class Metas(NamedTuple):
    found: list[tuple[str, str]]  # (name, content) in page order
    complete: bool  # False: the head goes on past MAX_HEAD, unread


def head_metas(html: bytes, names: frozenset[str], limit: int = MAX_HEAD) -> Metas:
    """(name, content) of every meta tag in the first `limit` bytes whose name
    (case-insensitive) is one of names, and whether those bytes hold the whole head. Tags after
    the head are read too (within the limit): honouring one more signal only refuses more."""
    complete = len(html) <= limit or _HEAD_END.search(html, 0, limit) is not None
    found: list[tuple[str, str]] = []
    for tag in _META.finditer(html, 0, limit):  # no copy of the page
        attrs = {
            m.group(1).lower(): (m.group(2) or m.group(3) or m.group(4) or b"")
            for m in _ATTR.finditer(tag.group(0))
        }
        name = attrs.get(b"name", b"").decode("latin-1").strip().lower()
        if name in names:
            found.append((name, attrs.get(b"content", b"").decode("latin-1")))
    return Metas(found, complete)


def meta_contents(html: bytes, names: frozenset[str]) -> list[tuple[str, str]]:
    """(name, content) of every meta tag within MAX_HEAD whose name is one of names."""
    return head_metas(html, names).found
