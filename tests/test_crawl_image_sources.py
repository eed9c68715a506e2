"""A page's images, however the page shows them, inherit its signals: lazy-loaded (`data-src`),
responsive (`srcset`, `<picture><source>`), a video's poster, the page's `og:image`, judged
before the fetch; and an image the page only links to (a gallery's full-size file) is judged as
an image once its response shows it is one. Proven from the mock web's record, the items the
spider got and the audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]

ART = "http://art.test"
JPEG = Resp(body=b"\xff\xd8\xff\xe0", content_type="image/jpeg")
NOIMAGEAI = '<meta name="robots" content="noimageai">'

# Every way below shows an image; each is one a scraper of profile photos reads.
SHOWN = (
    '<meta property="og:image" content="/img/og.jpg">',
    '<img src="/img/placeholder.gif" data-src="/img/lazy.jpg">',
    '<img data-srcset="/img/lazy-1x.jpg 1x, /img/lazy-2x.jpg 2x">',
    '<img src="/img/small.jpg" srcset="/img/medium.jpg 640w,/img/large.jpg 1280w">',
    '<picture><source srcset="/img/pic.webp" type="image/webp"><img src="/img/pic.jpg"></picture>',
    '<video poster="/img/poster.jpg" src="/media/clip.mp4"></video>',
    '<input type="image" src="/img/button.png" alt="go">',
)
IMAGE_PATHS = [
    "/img/og.jpg",
    "/img/lazy.jpg",
    "/img/lazy-1x.jpg",
    "/img/lazy-2x.jpg",
    "/img/medium.jpg",
    "/img/large.jpg",
    "/img/pic.webp",
    "/img/poster.jpg",
    "/img/button.png",
]

# A scraper that reads every one of those attributes (srcset candidates split as browsers do).
SCRAPER = """
import scrapy

ATTRS = ["meta[property='og:image']::attr(content)", "img::attr(data-src)",
         "img::attr(data-srcset)", "img::attr(srcset)", "source::attr(srcset)",
         "video::attr(poster)", "input[type=image]::attr(src)"]

class Scraper(scrapy.Spider):
    name = "scraper"

    async def start(self):
        yield scrapy.Request("http://art.test/gallery")

    def parse(self, response):
        yield {"url": response.url}
        if not isinstance(response, scrapy.http.TextResponse):
            return
        for attr in ATTRS:
            for value in response.css(attr).getall():
                for candidate in value.split(","):
                    yield response.follow(candidate.split()[0], callback=self.parse)
"""


@pytest.mark.parametrize("purpose", ["ai-training", "search-indexing"])
def test_images_shown_in_any_way_are_judged_before_the_fetch(
    mockweb: MockWeb, crawl: Crawl, purpose: str
) -> None:
    mockweb.add(ART + "/robots.txt", Resp(404))
    body = f"<html><head>{NOIMAGEAI}{SHOWN[0]}</head><body>{''.join(SHOWN[1:])}</body></html>"
    mockweb.add(ART + "/gallery", Resp(body=body))
    mockweb.add(ART, JPEG)  # every other path of the site answers an image

    result = crawl([], {"POLITE_CRAWL_PURPOSES": [purpose]}, spider_code=SCRAPER)

    assert result.returncode == 0, result.log
    fetched = {u.removeprefix(ART) for u in mockweb.urls() if "/img/" in u}
    if purpose == "search-indexing":  # the same crawl fetches them all: the test can fail
        assert fetched == set(IMAGE_PATHS)
        return
    assert fetched == set()
    assert result.stat("polite_crawl/denied/optout.noimageai") == len(IMAGE_PATHS)
    refused = [r for r in result.audit if r.get("reason") == "optout.noimageai"]
    assert {r["url"].removeprefix(ART) for r in refused} == set(IMAGE_PATHS)
    assert all(r["evidence"]["signals"]["kind"] == "image" for r in refused)


def serve_linked(web: MockWeb, head: str) -> None:
    web.add(ART + "/robots.txt", Resp(404))
    web.add(ART + "/gallery", page("/full/1.jpg", "/about", head=head))
    web.add(ART + "/full/1.jpg", JPEG)
    web.add(ART + "/about", page())


@pytest.mark.parametrize(
    ("purpose", "head", "kept"),
    [
        ("ai-training", NOIMAGEAI, False),
        ("facial-recognition", '<meta name="robots" content="noai">', False),
        ("search-indexing", NOIMAGEAI, True),  # noimageai does not concern it: kept
        ("ai-training", "", True),  # a page that says nothing: kept
    ],
)
def test_an_image_the_page_only_links_to_is_discarded_once_seen_to_be_one(
    mockweb: MockWeb, crawl: Crawl, purpose: str, head: str, kept: bool
) -> None:
    serve_linked(mockweb, head)

    result = crawl([ART + "/gallery"], {"POLITE_CRAWL_PURPOSES": [purpose]})

    assert result.returncode == 0, result.log
    # A link's target is only known to be an image once fetched: the server saw it either way.
    assert mockweb.fetched(ART + "/full/1.jpg")
    assert mockweb.fetched(ART + "/about")
    items = {i["url"] for i in result.items}
    assert ART + "/about" in items  # a linked page is judged by its own signals
    assert (ART + "/full/1.jpg" in items) is kept
    if not kept:
        reason = "optout.noimageai" if "noimageai" in head else "optout.noai"
        record = next(r for r in result.audit if r.get("decision") == "discard")
        assert (record["url"], record["reason"]) == (ART + "/full/1.jpg", reason)
        assert record["evidence"]["page_signals"]["from"] == ART + "/gallery"
        assert result.stat(f"polite_crawl/discarded/{reason}") == 1
