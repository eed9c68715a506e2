"""Where an HTML page shows an image, beyond `<img src>`: lazy-loading attributes, responsive
candidates (`srcset`, `<picture><source>`), a video's poster, an image button, the page's
`og:image`. A spider that scrapes photos reads these; each inherits the page's signals as an
`<img src>` does. Scrapy-free: the glue hands in the attribute values it selected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

# CSS selectors (parsel) of attributes holding one URL of an image.
SINGLE = (
    "img::attr(src)",
    "img::attr(data-src)",
    "img::attr(data-original)",
    "img::attr(data-lazy-src)",
    "input[type=image]::attr(src)",
    "video::attr(poster)",
    "meta[property='og:image']::attr(content)",
    "meta[property='og:image:url']::attr(content)",
    "meta[property='og:image:secure_url']::attr(content)",
    "meta[name='twitter:image']::attr(content)",
    "link[rel~=image_src]::attr(href)",
)
# ... and of attributes holding a srcset: comma-separated candidates, each a URL and descriptors.
SRCSET = (
    "img::attr(srcset)",
    "img::attr(data-srcset)",
    "source::attr(srcset)",
    "source::attr(data-srcset)",
)

_WHITESPACE = " \t\n\r\f"


def srcset_urls(value: str) -> Iterator[str]:
    """The URLs of a srcset's candidates, split as the HTML standard's algorithm does: a URL is
    a run of non-whitespace (trailing commas end it and the candidate); descriptors run to the
    next comma outside parentheses."""
    i, n = 0, len(value)
    while i < n:
        while i < n and (value[i] in _WHITESPACE or value[i] == ","):
            i += 1
        start = i
        while i < n and value[i] not in _WHITESPACE:
            i += 1
        url = value[start:i]
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            depth = 0
            while i < n and not (value[i] == "," and depth == 0):
                depth += {"(": 1, ")": -1}.get(value[i], 0)
                i += 1
        if url:
            yield url


def image_urls(singles: Iterable[str], srcsets: Iterable[str]) -> Iterator[str]:
    """Every image URL named by the values of SINGLE and SRCSET attributes (as written)."""
    for value in singles:
        if value.strip():
            yield value
    for value in srcsets:
        yield from srcset_urls(value)
        # A scraper that splits on every comma ("a.jpg,b.jpg" is one URL to a browser) asks
        # for the pieces: they are the page's images too.
        for piece in value.split(","):
            words = piece.split()
            if words:
                yield words[0]
