"""`<meta name=... content=...>` tags of an HTML page, read without an HTML parser: a bounded
scan of the first bytes, where `<head>` lives, that no markup can make slow."""

from __future__ import annotations

import re

MAX_HTML = 512 * 1024  # meta tags live in <head>: the first 512 KiB are read
_META = re.compile(rb"<meta\b[^>]{0,2048}>", re.IGNORECASE)
_ATTR = re.compile(rb"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def meta_contents(html: bytes, names: frozenset[str]) -> list[tuple[str, str]]:
    """(name, content) of every meta tag whose name (case-insensitive) is one of names."""
    found: list[tuple[str, str]] = []
    for tag in _META.finditer(html, 0, MAX_HTML):  # no copy of the page
        attrs = {
            m.group(1).lower(): (m.group(2) or m.group(3) or m.group(4) or b"")
            for m in _ATTR.finditer(tag.group(0))
        }
        name = attrs.get(b"name", b"").decode("latin-1").strip().lower()
        if name in names:
            found.append((name, attrs.get(b"content", b"").decode("latin-1")))
    return found
