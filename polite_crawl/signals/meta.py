"""`<meta name=... content=...>` tags of an HTML page, read without an HTML parser: a bounded
scan that no markup can make slow (every pattern is matched forward only, each byte looked at a
bounded number of times).

Meta tags live in `<head>`, which a page may fill with megabytes of inline script and style
before its robots meta tag. The scan reads the first `limit` bytes (DEFAULT_HEAD_LIMIT unless
POLITE_CRAWL_HEAD_SCAN_LIMIT says otherwise): a tag anywhere in them counts, in `<head>` or not.
`head_metas` also says whether that covered the whole `<head>`: true when the page is no longer
than the limit, or when its `<head>` visibly ends within it (`</head>` or `<body>`, outside
comments, scripts, styles and the other elements whose text is not markup). Otherwise a meta tag
may lie beyond the limit, and the page's signals are unknown: the caller fails closed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterator

DEFAULT_HEAD_LIMIT = 2 * 1024 * 1024
_META_START = re.compile(rb"<meta\b", re.IGNORECASE)
MAX_TAG = 2048  # bytes of attributes in one meta tag; a longer one is not read
# Meta tags read per page (a <head> has tens). Past that many, a page whose <head> has not ended
# counts as unread, so that a page of nothing but meta tags costs milliseconds, not a second.
MAX_TAGS = 4096
_ATTR = re.compile(rb"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
# The end of <head>, or the start of something whose content could hide a false end: a comment,
# or an element whose text is not markup (a "</head>" in a script's string ends nothing).
_HEAD_END = re.compile(
    rb"<(?:(/head|body)[\s/>]|(!--)|(script|style|title|textarea|template|noscript|xmp|iframe"
    rb"|noembed|noframes)[\s/>])",
    re.IGNORECASE,
)
_CLOSE = {
    name: re.compile(b"</" + name + rb"[\s/>]", re.IGNORECASE)
    for name in (
        b"script",
        b"style",
        b"title",
        b"textarea",
        b"template",
        b"noscript",
        b"xmp",
        b"iframe",
        b"noembed",
        b"noframes",
    )
}
_COMMENT_END = re.compile(rb"-->")


class HeadMetas(NamedTuple):
    metas: list[tuple[str, str]]  # (name, content) of the tags asked for
    complete: bool  # every meta tag of the <head> was read


def head_metas(html: bytes, names: frozenset[str], limit: int = DEFAULT_HEAD_LIMIT) -> HeadMetas:
    """(name, content) of every meta tag in the first `limit` bytes whose name
    (case-insensitive) is one of names, and whether they cover the whole <head>."""
    found: list[tuple[str, str]] = []
    for count, (at, tag) in enumerate(_tags(html, limit), 1):
        if count > MAX_TAGS:
            # Past the head (microdata in a long body), the rest is a bonus not read; within
            # it, what is not read is unknown.
            end = head_end(html, limit)
            return HeadMetas(found, end is not None and at >= end)
        attrs = {
            m.group(1).lower(): (m.group(2) or m.group(3) or m.group(4) or b"")
            for m in _ATTR.finditer(tag)
        }
        name = attrs.get(b"name", b"").decode("latin-1").strip().lower()
        if name in names:
            found.append((name, attrs.get(b"content", b"").decode("latin-1")))
    # The usual page is shorter than the limit: read whole, no need to look for its head's end.
    return HeadMetas(found, len(html) <= limit or head_end(html, limit) is not None)


def _tags(html: bytes, limit: int) -> Iterator[tuple[int, bytes]]:
    """Each `<meta ...>` in the first limit bytes with at most MAX_TAG bytes of attributes, and
    where it starts. The next `>` is looked for once per stretch of the page, not once per
    `<meta` (a page of `<meta <meta <meta ...` would otherwise cost MAX_TAG steps for each)."""
    gt = -1  # the first ">" at or after the last place looked from (-1: none before the limit)
    after = 0  # where the last tag read ends: what lies inside it is not another tag
    for start in _META_START.finditer(html, after, limit):
        at = start.start()
        if at < after:
            continue
        if gt < at:
            gt = html.find(b">", at, limit)
            if gt < 0:
                return
        if gt - start.end() <= MAX_TAG:
            after = gt + 1
            yield at, html[at:after]


def meta_contents(
    html: bytes, names: frozenset[str], limit: int = DEFAULT_HEAD_LIMIT
) -> list[tuple[str, str]]:
    """(name, content) of every meta tag in the first `limit` bytes named one of names."""
    return head_metas(html, names, limit).metas


def head_end(html: bytes, limit: int) -> int | None:
    """Where `</head>` or `<body>` comes within the first `limit` bytes, outside comments and
    the content of script, style and the like; None if nowhere. Forward only: linear in
    `limit`."""
    pos = 0
    while True:
        match = _HEAD_END.search(html, pos, limit)
        if match is None:
            return None
        if match.group(1):
            return match.start()
        closing = _COMMENT_END if match.group(2) else _CLOSE[match.group(3).lower()]
        end = closing.search(html, match.end(), limit)
        if end is None:  # still inside it at the limit: the head goes on past it
            return None
        pos = end.end()
