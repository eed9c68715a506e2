"""Size limits count the bytes that are read, not the bytes on the wire (issue #13, item 6).

An origin file (robots.txt, tdmrep.json, ai.txt) answered with `Content-Encoding: gzip` is read
up to the parse limit of inflated bytes, exactly like a file that long in plain text, and costs
no more memory than that: proven by the crawl process's peak resident memory, against the same
crawl of plain files. Ground truth for what was fetched is the mock web's own record.
"""

from __future__ import annotations

import gzip
import zlib
from typing import TYPE_CHECKING

import pytest

from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]

MiB = 1024 * 1024
INFLATED = 128 * MiB  # about 260 KB on the wire: the whole bomb passes the wire limit
# What a bounded read may cost beyond a crawl of plain files: a few parse limits (512 KiB), not
# the inflated size.
MEMORY_MARGIN = 32 * MiB
TEXT = "text/plain"

ROBOTS = "http://robots-bomb.test"
TDM = "http://tdm-bomb.test"
AITXT = "http://aitxt-bomb.test"
RULES = b"User-agent: *\nDisallow: /private\n"
LATE = b"Disallow: /late\n"  # beyond the parse limit: never read
PAGES = ("/a", "/private/b", "/late")
TDM_OPEN = b'[{"location": "/", "tdm-reservation": 0}'  # the rest is padding, then "]"


def gzip_bomb(head: bytes, filler: bytes, tail: bytes, inflated: int = INFLATED) -> bytes:
    """gzip of head + filler repeated to `inflated` bytes + tail, made in well under a second."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip member
    chunk = filler * (MiB // len(filler))
    parts = [packer.compress(head)]
    parts += [packer.compress(chunk) for _ in range(inflated // len(chunk))]
    parts += [packer.compress(tail), packer.flush()]
    return b"".join(parts)


def gzipped(body: bytes) -> Resp:
    return Resp(body=body, content_type=TEXT, headers={"Content-Encoding": "gzip"})


def serve_origins(web: MockWeb, *, bombs: bool) -> list[str]:
    """Three origins, each with one origin file that is a gzip bomb (or, as the control, the
    same file small and plain); the other files answer 404."""
    files = {
        ROBOTS + "/robots.txt": (RULES, b"# filler line\n", LATE),
        TDM + "/.well-known/tdmrep.json": (TDM_OPEN, b" " * 64, b"]"),
        AITXT + "/ai.txt": (RULES, b"# filler line\n", LATE),
    }
    for url, (head, filler, tail) in files.items():
        if bombs:
            web.add(url, gzipped(gzip_bomb(head, filler, tail)))
        else:
            web.add(url, Resp(body=head + tail, content_type=TEXT))
    urls = []
    for origin in (ROBOTS, TDM, AITXT):
        web.add(origin + "/robots.txt", web.routes.get(origin + "/robots.txt") or Resp(404))
        for path in PAGES:
            web.add(origin + path, page())
            urls.append(origin + path)
    return urls


def test_gzip_bombs_are_read_to_the_parse_limit_of_inflated_bytes(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    urls = serve_origins(mockweb, bombs=False)
    plain = crawl(urls, {"POLITE_CRAWL_PURPOSES": ["ai-training"]})
    assert plain.returncode == 0, plain.log
    mockweb.hits.clear()
    serve_origins(mockweb, bombs=True)

    result = crawl(urls, {"POLITE_CRAWL_PURPOSES": ["ai-training"]})

    assert result.returncode == 0, result.log
    grown = result.peak_rss - plain.peak_rss
    assert grown < MEMORY_MARGIN, f"peak RSS {grown / MiB:.0f} MiB above the plain crawl's"
    # robots.txt and ai.txt: whole lines up to the limit, as for a plain file that long.
    for origin in (ROBOTS, AITXT):
        assert mockweb.fetched(origin + "/a")
        assert not mockweb.fetched(origin + "/private/b")
        assert mockweb.fetched(origin + "/late")  # its rule lies beyond the limit
    # tdmrep.json longer than the limit: everything reserved.
    assert not any(mockweb.fetched(TDM + path) for path in PAGES)
    assert result.stat("polite_crawl/denied/tdmrep.reserved") == 3
    fetched = {r["url"]: r["evidence"] for r in result.audit if r.get("type") == "preflight"}
    for url in (ROBOTS + "/robots.txt", TDM + "/.well-known/tdmrep.json", AITXT + "/ai.txt"):
        assert fetched[url]["state"] == "parsed", fetched[url]
        assert fetched[url]["truncated"] is True
    # Each origin file was asked for only in the codings we read.
    for hit in mockweb.hits:
        if hit.url.endswith(("/robots.txt", "/tdmrep.json", "/ai.txt")):
            assert hit.headers.get("accept-encoding") == "gzip, deflate", hit


SITE = "http://site.test"


def serve_site(web: MockWeb, robots: Resp) -> list[str]:
    web.add(SITE + "/robots.txt", robots)
    for path in ("/a", "/private/b"):
        web.add(SITE + path, page())
    return [SITE + "/a", SITE + "/private/b"]


@pytest.mark.parametrize(
    ("coding", "encode"), [("gzip", gzip.compress), ("deflate", zlib.compress)]
)
def test_a_compressed_robots_txt_is_read(
    mockweb: MockWeb, crawl: Crawl, coding: str, encode: Callable[[bytes], bytes]
) -> None:
    urls = serve_site(
        mockweb, Resp(body=encode(RULES), content_type=TEXT, headers={"Content-Encoding": coding})
    )

    result = crawl(urls)

    assert result.returncode == 0, result.log
    assert mockweb.fetched(SITE + "/a")
    assert not mockweb.fetched(SITE + "/private/b")


# brotli of "User-agent: *\nAllow: /\n": never asked for, so never read (Scrapy would).
BROTLI_ALLOW_ALL = b"\x0b\x0b\x80User-agent: *\nAllow: /\n\x03"


@pytest.mark.parametrize(
    ("coding", "body", "error"),
    [
        ("br", BROTLI_ALLOW_ALL, "not one that was asked for"),
        ("gzip", b"User-agent: *\nAllow: /\n", "broken gzip"),
        # mtime=0: the same bytes (and test id) in every worker process
        ("gzip", gzip.compress(b"User-agent: *\nAllow: /public\n", mtime=0)[:-14], "cut short"),
    ],
)
def test_a_robots_txt_that_cannot_be_inflated_is_unreachable(
    mockweb: MockWeb, crawl: Crawl, coding: str, body: bytes, error: str
) -> None:
    urls = serve_site(
        mockweb, Resp(body=body, content_type=TEXT, headers={"Content-Encoding": coding})
    )

    result = crawl(urls)

    assert result.returncode == 0, result.log
    assert mockweb.urls() == [SITE + "/robots.txt"]  # complete disallow
    assert result.stat("polite_crawl/denied/robots.unreachable") == len(urls)
    (preflight,) = [r for r in result.audit if r.get("type") == "preflight"]
    assert preflight["evidence"]["state"] == "unreachable"
    assert error in preflight["evidence"]["error"]


ART = "http://art.test"
SCRIPT_600_KIB = "<script>var x = '" + "x" * (600 * 1024) + "';</script>"


def serve_gallery(web: MockWeb, head: str) -> None:
    web.add(ART + "/robots.txt", Resp(404))
    web.add(ART + "/gallery", page("/about", images=["/img/a.jpg"], head=head))
    web.add(ART + "/about", page())
    web.add(ART + "/img/a.jpg", Resp(body=b"\xff\xd8\xff\xe0", content_type="image/jpeg"))


@pytest.mark.parametrize(
    ("purpose", "fetched"), [("ai-training", False), ("search-indexing", True)]
)
def test_a_robots_meta_after_a_600_kib_script_in_head_is_read(
    mockweb: MockWeb, crawl: Crawl, purpose: str, fetched: bool
) -> None:
    serve_gallery(mockweb, SCRIPT_600_KIB + '<meta name="robots" content="noimageai">')

    result = crawl([ART + "/gallery"], {"POLITE_CRAWL_PURPOSES": [purpose]})

    assert result.returncode == 0, result.log
    assert mockweb.fetched(ART + "/img/a.jpg") is fetched
    assert mockweb.fetched(ART + "/about")
    if not fetched:
        assert result.stat("polite_crawl/denied/optout.noimageai") == 1


# A <head> that goes on past the scan limit (here 1 MiB, set low to keep the test light): the
# meta tag past it is never seen, so the page's signals are unknown.
UNREAD_HEAD = (
    "<script>var x = '" + "x" * (1024 * 1024) + "';</script>"
    '<meta name="robots" content="noimageai">'
)


@pytest.mark.parametrize(
    ("purpose", "mode", "refused"),
    [
        ("ai-training", "enforce", True),
        ("search-indexing", "enforce", True),
        ("research", "enforce", True),
        ("archiving", "enforce", False),  # no page signal can refuse archiving
        ("ai-training", "report", False),
    ],
)
def test_a_head_longer_than_the_limit_fails_closed(
    mockweb: MockWeb, crawl: Crawl, purpose: str, mode: str, refused: bool
) -> None:
    serve_gallery(mockweb, UNREAD_HEAD)

    result = crawl(
        [ART + "/gallery"],
        {
            "POLITE_CRAWL_PURPOSES": [purpose],
            "POLITE_CRAWL_MODE": mode,
            "POLITE_CRAWL_HEAD_SCAN_LIMIT": 1024 * 1024,
        },
    )

    assert result.returncode == 0, result.log
    assert mockweb.fetched(ART + "/img/a.jpg") is not refused
    assert mockweb.fetched(ART + "/about")  # a linked page has signals of its own
    items = [i["url"] for i in result.items]
    assert (ART + "/gallery" in items) is not refused
    reason = "optout.unreadable_head"
    if purpose == "archiving":
        assert not any(r.get("reason") == reason for r in result.audit)
        return
    assert result.stat("polite_crawl/head_unreadable") == 1
    denial = next(r for r in result.audit if r.get("reason") == reason and r["type"] == "decision")
    assert denial["url"] == ART + "/img/a.jpg"
    assert denial["evidence"]["signals"]["from"] == ART + "/gallery"
    assert denial["enforced"] is (mode == "enforce")
    dropped = next(r for r in result.audit if r.get("type") == "item.dropped")
    assert (dropped["url"], dropped["reason"]) == (ART + "/gallery", reason)
    if mode == "enforce":
        assert result.stat(f"polite_crawl/denied/{reason}") == 1
        assert result.stat(f"polite_crawl/items_dropped/{reason}") == 1
        assert "POLITE_CRAWL_HEAD_SCAN_LIMIT" in result.log


def test_a_long_page_whose_head_ends_early_is_read_as_usual(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    body = "<p>" + "words " * (400 * 1024) + "</p>"  # 2.4 MiB of body after a short head
    mockweb.add(ART + "/robots.txt", Resp(404))
    gallery = page("/about", images=["/img/a.jpg"], head='<script>"</head>"</script>')
    mockweb.add(ART + "/gallery", Resp(body=gallery.data() + body.encode()))
    mockweb.add(ART + "/about", page())
    mockweb.add(ART + "/img/a.jpg", Resp(body=b"\xff\xd8\xff\xe0", content_type="image/jpeg"))

    result = crawl([ART + "/gallery"], {"POLITE_CRAWL_PURPOSES": ["ai-training"]})

    assert result.returncode == 0, result.log
    assert mockweb.fetched(ART + "/img/a.jpg")
    assert result.stat("polite_crawl/head_unreadable") == 0
    assert [i["url"] for i in result.items if i["url"] == ART + "/gallery"]
