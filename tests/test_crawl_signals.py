"""Opt-out signals honoured before the fetch, proven from the mock web's record: requests a page
yields inherit its signals, and what they forbid for the declared purposes is never requested."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from polite_crawl.testing.crawl import run_cli
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]

ART = "http://art.test"
CDN = "http://cdn.test"
JPEG = Resp(body=b"\xff\xd8\xff\xe0", content_type="image/jpeg")


def serve_gallery(web: MockWeb, *, head: str = "", headers: dict[str, str] | None = None) -> None:
    for origin in (ART, CDN):
        web.add(origin + "/robots.txt", Resp(404))
    gallery = page("/about", images=["/img/own.jpg", CDN + "/img/hosted.jpg"], head=head)
    web.add(ART + "/gallery", Resp(body=gallery.body, headers=headers or {}))
    web.add(ART + "/about", page())
    web.add(ART + "/img/own.jpg", JPEG)
    web.add(CDN + "/img/hosted.jpg", JPEG)


IMAGES = [ART + "/img/own.jpg", CDN + "/img/hosted.jpg"]


@pytest.mark.parametrize("form", ["meta", "header"])
@pytest.mark.parametrize("purpose", ["ai-training", "facial-recognition"])
def test_images_on_a_noimageai_page_are_never_requested_for_ai(
    mockweb: MockWeb, crawl: Crawl, form: str, purpose: str
) -> None:
    if form == "meta":
        serve_gallery(mockweb, head='<meta name="robots" content="noimageai">')
    else:
        serve_gallery(mockweb, headers={"X-Robots-Tag": "noimageai"})

    result = crawl([ART + "/gallery"], {"POLITE_CRAWL_PURPOSES": [purpose]})

    assert result.returncode == 0, result.log
    assert mockweb.fetched(ART + "/about")  # the page's links are not images
    assert not any(mockweb.fetched(u) for u in IMAGES)
    assert result.stat("polite_crawl/denied/optout.noimageai") == 2
    record = next(r for r in result.audit if r.get("reason") == "optout.noimageai")
    assert record["evidence"]["signals"]["from"] == ART + "/gallery"


@pytest.mark.parametrize("form", ["meta", "header"])
def test_a_search_indexing_crawl_still_fetches_them(
    mockweb: MockWeb, crawl: Crawl, form: str
) -> None:
    if form == "meta":
        serve_gallery(mockweb, head='<meta name="robots" content="noimageai">')
    else:
        serve_gallery(mockweb, headers={"X-Robots-Tag": "noimageai"})

    result = crawl([ART + "/gallery"], {"POLITE_CRAWL_PURPOSES": ["search-indexing"]})

    assert all(mockweb.fetched(u) for u in IMAGES)
    assert result.stat("polite_crawl/denied/optout.noimageai") == 0


def test_a_signal_scoped_to_another_crawler_does_not_apply(mockweb: MockWeb, crawl: Crawl) -> None:
    serve_gallery(
        mockweb,
        headers={"X-Robots-Tag": "otherbot: noai"},
        head='<meta name="otherbot" content="noimageai">',
    )

    crawl([ART + "/gallery"], {"POLITE_CRAWL_PURPOSES": ["ai-training"]})

    assert all(mockweb.fetched(u) for u in IMAGES)


def test_a_nofollow_page_s_links_are_not_followed(mockweb: MockWeb, crawl: Crawl) -> None:
    serve_gallery(mockweb, head='<meta name="robots" content="nofollow">')

    result = crawl([ART + "/gallery"], {"POLITE_CRAWL_PURPOSES": ["research"]})

    assert not mockweb.fetched(ART + "/about")
    assert all(mockweb.fetched(u) for u in IMAGES)  # embedded images are not followed links
    assert result.stat("polite_crawl/nofollow/dropped") == 1


FILES_SPIDER = """
import scrapy

class Files(scrapy.Spider):
    name = "files"
    custom_settings = {"ITEM_PIPELINES": {"scrapy.pipelines.files.FilesPipeline": 1}}

    async def start(self):
        yield scrapy.Request("http://art.test/gallery")

    def parse(self, response):
        yield {"file_urls": [response.urljoin(src) for src in
                             response.css("img::attr(src)").getall()]}
"""


# FilesPipeline reading image_urls: the stock way to fetch an item's images without Pillow.
IMAGES_SPIDER = FILES_SPIDER.replace(
    'FilesPipeline": 1}}', 'FilesPipeline": 1}, "FILES_URLS_FIELD": "image_urls"}'
).replace('"file_urls"', '"image_urls"')


@pytest.mark.parametrize(
    ("head", "spider", "reason", "items"),
    [
        ('<meta name="robots" content="noimageai">', "images", "optout.noimageai", 1),
        ('<meta name="robots" content="noai">', "files", "items_dropped", 0),
    ],
)
def test_an_item_s_image_and_file_urls_carry_the_page_s_signals(
    mockweb: MockWeb,
    crawl: Crawl,
    tmp_path: Path,
    head: str,
    spider: str,
    reason: str,
    items: int,
) -> None:
    serve_gallery(mockweb, head=head)
    store = tmp_path / "files"
    code = IMAGES_SPIDER if spider == "images" else FILES_SPIDER

    result = crawl(
        [], {"POLITE_CRAWL_PURPOSES": ["ai-training"], "FILES_STORE": str(store)}, spider_code=code
    )

    assert result.returncode == 0, result.log
    assert "FILES_URLS_FIELD" in code or spider == "files"
    assert not any(mockweb.fetched(u) for u in IMAGES)
    assert not store.exists() or not any(p.is_file() for p in store.rglob("*"))
    assert len(result.items) == items
    if reason == "items_dropped":  # a noai page's item is never made: its files are not asked
        assert result.stat("polite_crawl/items_dropped/optout.noai") == 1
    else:  # noimageai concerns the images, not the page's item
        assert result.stat(f"polite_crawl/denied/{reason}") == 2


def serve_labelled_image(web: MockWeb) -> None:
    web.add(ART + "/robots.txt", Resp(404))
    web.add(ART + "/gallery", page(images=["/img/labelled.jpg", "/img/plain.jpg"]))
    web.add(
        ART + "/img/labelled.jpg",
        Resp(
            body=b"\xff\xd8\xff\xe0",
            content_type="image/jpeg",
            headers={"X-Robots-Tag": "NoImageAI"},
        ),
    )
    web.add(ART + "/img/plain.jpg", JPEG)


@pytest.mark.parametrize(("purpose", "stored"), [("ai-training", 1), ("search-indexing", 2)])
def test_an_image_whose_own_header_says_noimageai_is_discarded_unstored(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path, purpose: str, stored: int
) -> None:
    serve_labelled_image(mockweb)
    store = tmp_path / "files"

    result = crawl(
        [],
        {"POLITE_CRAWL_PURPOSES": [purpose], "FILES_STORE": str(store)},
        spider_code=FILES_SPIDER,
    )

    assert result.returncode == 0, result.log
    # Its headers are only known once it is fetched: the server saw it either way.
    assert mockweb.fetched(ART + "/img/labelled.jpg")
    files = [p for p in store.rglob("*") if p.is_file()] if store.exists() else []
    assert len(files) == stored
    item_files = [f["url"] for item in result.items for f in item.get("files", [])]
    if purpose == "ai-training":
        assert item_files == [ART + "/img/plain.jpg"]  # in no item either
        assert result.stat("polite_crawl/discarded/optout.noimageai") == 1
        record = next(r for r in result.audit if r.get("decision") == "discard")
        assert record["reason"] == "optout.noimageai"
        assert record["url"] == ART + "/img/labelled.jpg"
        assert "1 discarded after the fetch (optout.noimageai: 1)" in result.log
        audit = tmp_path / "crawl0" / "audit"
        proc = run_cli("audit", "verify", str(audit))
        assert proc.returncode == 0, proc.stderr
    else:
        assert sorted(item_files) == [ART + "/img/labelled.jpg", ART + "/img/plain.jpg"]


SIGNALS_SITE = "http://signals.test"


@pytest.mark.parametrize(
    ("robots", "reason"),
    [
        (
            "User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n",
            "optout.content_signal",
        ),
        ("User-agent: *\nContent-Usage: train-ai=n\nAllow: /\n", "optout.content_usage"),
    ],
)
def test_a_host_that_says_no_ai_training_in_robots_txt_gets_only_that_request(
    mockweb: MockWeb, crawl: Crawl, robots: str, reason: str
) -> None:
    mockweb.add(SIGNALS_SITE + "/robots.txt", Resp(body=robots, content_type="text/plain"))
    mockweb.add(SIGNALS_SITE + "/", page("/a"))
    mockweb.add(SIGNALS_SITE + "/a", page())

    training = crawl([SIGNALS_SITE + "/"], {"POLITE_CRAWL_PURPOSES": ["ai-training"]})
    assert mockweb.urls() == [SIGNALS_SITE + "/robots.txt"]
    search = crawl([SIGNALS_SITE + "/"], {"POLITE_CRAWL_PURPOSES": ["search-indexing"]})

    assert training.stat(f"polite_crawl/denied/{reason}") == 1
    record = next(r for r in training.audit if r.get("reason") == reason)
    assert record["evidence"]["content_signal"]["line"] == 2
    assert search.returncode == 0, search.log
    assert mockweb.fetched(SIGNALS_SITE + "/a")


def test_a_path_scoped_content_usage(mockweb: MockWeb, crawl: Crawl) -> None:
    robots = "User-agent: *\nContent-Usage: /images/ train-ai=n\nAllow: /\n"
    mockweb.add(SIGNALS_SITE + "/robots.txt", Resp(body=robots, content_type="text/plain"))
    mockweb.add(SIGNALS_SITE + "/", page(images=["/images/x.jpg", "/other/y.jpg"]))
    mockweb.add(SIGNALS_SITE + "/images/x.jpg", JPEG)
    mockweb.add(SIGNALS_SITE + "/other/y.jpg", JPEG)

    crawl([SIGNALS_SITE + "/"], {"POLITE_CRAWL_PURPOSES": ["ai-training"]})

    assert mockweb.fetched(SIGNALS_SITE + "/other/y.jpg")
    assert not mockweb.fetched(SIGNALS_SITE + "/images/x.jpg")


@pytest.mark.parametrize(
    ("head", "purpose", "mode", "dropped"),
    [
        ('<meta name="robots" content="noindex">', "search-indexing", "enforce", True),
        ('<meta name="robots" content="noindex">', "research", "enforce", False),
        ('<meta name="robots" content="noai">', "ai-training", "enforce", True),
        ('<meta name="robots" content="noai">', "ai-training", "report", False),
    ],
)
def test_items_of_a_page_that_forbids_the_purpose_are_dropped(
    mockweb: MockWeb, crawl: Crawl, head: str, purpose: str, mode: str, dropped: bool
) -> None:
    mockweb.add(ART + "/robots.txt", Resp(404))
    mockweb.add(ART + "/labelled", page("/plain", head=head))
    mockweb.add(ART + "/plain", page())

    result = crawl(
        [ART + "/labelled"], {"POLITE_CRAWL_PURPOSES": [purpose], "POLITE_CRAWL_MODE": mode}
    )

    assert result.returncode == 0, result.log
    urls = [item["url"] for item in result.items]
    assert (ART + "/labelled" not in urls) is dropped
    if purpose != "ai-training":  # noai does not stop links being followed
        assert ART + "/plain" in urls
    record = next((r for r in result.audit if r.get("type") == "item.dropped"), None)
    assert (record is not None) is (dropped or mode == "report")


# Image sources as a page may write them, and how each reaches the server once Scrapy (or the
# spider) has made a request of it. The page's signals must follow every one of them.
ODD_SOURCES = [
    "/img/a b.jpg",  # a space: percent-encoded by Request
    " /img/ws.jpg ",  # surrounding whitespace: stripped
    "/img/café.jpg",  # non-ASCII: UTF-8 percent-encoded
    "/img/caf%c3%a9-2.jpg",  # lower-case escapes: upper-cased by a canonicalising spider
    "/img/q.jpg?b=1&a=2",  # query order: sorted by a canonicalising spider
    "/img/frag.jpg#top",  # a fragment: never sent
    "/img/ok.jpg",
]
ODD_SPIDER = """
import scrapy
from w3lib.url import canonicalize_url

class Odd(scrapy.Spider):
    name = "odd"
    custom_settings = {"ITEM_PIPELINES": PIPELINES}

    async def start(self):
        yield scrapy.Request("http://art.test/gallery")

    def parse(self, response):
        sources = response.css("img::attr(src)").getall()
        if HOW == "follow":  # Scrapy's own way
            for src in sources:
                yield response.follow(src, callback=self.parse)
        elif HOW == "canonical":  # a spider that requests each URL in its canonical form
            for src in sources:
                yield scrapy.Request(canonicalize_url(response.urljoin(src)), self.parse)
        else:  # the stock pipelines build the requests from the item
            yield {FIELD: [response.urljoin(src) for src in sources]}
"""
ODD_PIPELINES = {
    "follow": ({}, "image_urls"),
    "canonical": ({}, "image_urls"),
    "images": ({"scrapy.pipelines.images.ImagesPipeline": 1}, "image_urls"),
    "files": ({"scrapy.pipelines.files.FilesPipeline": 1}, "file_urls"),
}


@pytest.mark.parametrize("how", ["follow", "canonical", "images", "files"])
@pytest.mark.parametrize("purpose", ["ai-training", "search-indexing"])
def test_inherited_signals_survive_how_the_request_url_is_written(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path, how: str, purpose: str
) -> None:
    mockweb.add(ART + "/robots.txt", Resp(404))
    mockweb.add(
        ART + "/gallery", page(images=ODD_SOURCES, head='<meta name="robots" content="noimageai">')
    )
    mockweb.add(ART, JPEG)  # every other path on the site answers an image
    pipelines, field = ODD_PIPELINES[how]
    code = f"HOW = {how!r}\nPIPELINES = {pipelines!r}\nFIELD = {field!r}\n" + ODD_SPIDER
    store = str(tmp_path / "store")

    result = crawl(
        [],
        {"POLITE_CRAWL_PURPOSES": [purpose], "IMAGES_STORE": store, "FILES_STORE": store},
        spider_code=code,
    )

    assert result.returncode == 0, result.log
    images = [u for u in mockweb.urls() if "/img/" in u]
    if purpose == "search-indexing":  # the same crawl can fetch them: the test can fail
        assert len(set(images)) == len(ODD_SOURCES), images
        return
    assert images == []  # the server's own record: not one was requested
    assert result.stat("polite_crawl/denied/optout.noimageai") == len(ODD_SOURCES)
    refused = [r for r in result.audit if r.get("reason") == "optout.noimageai"]
    assert len(refused) == len(ODD_SOURCES)
    assert all(r["evidence"]["signals"]["from"] == ART + "/gallery" for r in refused)
    assert not any(r.get("decision") == "allow" and "/img/" in r["url"] for r in result.audit)


# Past POLITE_CRAWL_HEAD_SCAN_LIMIT's default (2 MiB): the page's signals cannot be known.
HUGE_HEAD = "<script>var x = '" + "a" * (3 * 1024 * 1024) + "';</script>"


@pytest.mark.parametrize(
    ("purpose", "refused"),
    [("ai-training", True), ("search-indexing", True), ("archiving", False)],
)
def test_a_head_too_long_to_read_counts_as_unknown_signals(
    mockweb: MockWeb, crawl: Crawl, purpose: str, refused: bool
) -> None:
    # What the page says cannot be known: for every purpose a page's signals can refuse, its
    # images are not fetched and its items are dropped; archiving, which none concerns, goes on.
    serve_gallery(mockweb, head=HUGE_HEAD)

    result = crawl([ART + "/gallery"], {"POLITE_CRAWL_PURPOSES": [purpose]})

    assert result.returncode == 0, result.log
    assert mockweb.fetched(ART + "/about")  # links are followed: their pages speak for themselves
    assert all(not mockweb.fetched(u) for u in IMAGES) is refused
    urls = [item["url"] for item in result.items]
    assert (ART + "/gallery" not in urls) is refused
    if refused:
        assert result.stat("polite_crawl/denied/optout.unreadable_head") == 2
        decisions = [r for r in result.audit if r.get("type") == "decision"]
        record = next(r for r in decisions if r["reason"] == "optout.unreadable_head")
        assert record["evidence"]["signals"]["from"] == ART + "/gallery"
        dropped = next(r for r in result.audit if r.get("type") == "item.dropped")
        assert dropped["reason"] == "optout.unreadable_head"


def test_a_noimageai_pages_full_size_image_behind_a_redirect_is_not_kept_for_ai(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    for origin in (ART, CDN):
        mockweb.add(origin + "/robots.txt", Resp(404))
    gallery = page("/full/1", "/full/2", head='<meta name="robots" content="noimageai">')
    mockweb.add(ART + "/gallery", gallery)
    mockweb.add(ART + "/full/1", JPEG)  # the link answered by the image itself
    mockweb.add(ART + "/full/2", Resp(302, headers={"Location": CDN + "/full/2.jpg"}))
    mockweb.add(CDN + "/full/2.jpg", JPEG)

    result = crawl([ART + "/gallery"], {"POLITE_CRAWL_PURPOSES": ["ai-training"]})

    assert result.returncode == 0, result.log
    kept = {r["url"] for r in result.audit if r["type"] == "fetched"}
    discarded = {r["url"] for r in result.audit if r.get("decision") == "discard"}
    assert ART + "/full/1" in discarded  # without a redirect, the page's image is discarded
    # Behind one redirect, the same image must be discarded too (or never fetched).
    assert CDN + "/full/2.jpg" in discarded or CDN + "/full/2.jpg" not in kept, (kept, discarded)
