"""Fault injection in real crawls: a hostile or broken server answers robots.txt or a page with
garbage, a misleading Content-Type, headers and then silence, a body without end, or a redirect
no crawler should follow. In each case the mock web's own record proves that nothing was
fetched that the gate could not decide, and the audit log or the crawl log says what happened.
(Timeouts, trickles, resets, 10 MiB and redirect loops: tests/test_crawl_robots.py.)"""

from __future__ import annotations

import hashlib
import random
from typing import TYPE_CHECKING

import pytest

from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]

SITE = "http://site.test"
RULES = b"User-agent: *\nDisallow: /private\n"
GARBAGE = random.Random(9309).randbytes(64 * 1024)  # the same "random" bytes in every run
PREFLIGHTS = frozenset({"/robots.txt", "/.well-known/tdmrep.json", "/ai.txt"})


def serve_pages(web: MockWeb, *paths: str) -> list[str]:
    for path in paths:
        web.add(SITE + path, page())
    return [SITE + p for p in paths]


def preflight(result: CrawlResult) -> dict[str, object]:
    return next(r["evidence"] for r in result.audit if r.get("type") == "preflight")


def decision(result: CrawlResult, url: str) -> dict[str, object]:
    return next(r for r in result.audit if r.get("type") == "decision" and r["url"] == url)


def fetched_pages(web: MockWeb) -> set[str]:
    return {h.url for h in web.hits if h.path not in PREFLIGHTS}


# --- robots.txt that is not what it says ------------------------------------------------------


def test_binary_garbage_is_parsed_and_its_bytes_are_the_evidence(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    # RFC 9309 §2.3.1.5: parse each line and use the parseable rules. Garbage holds none, so
    # nothing is disallowed; the decision cites the exact bytes it rests on.
    mockweb.add(SITE + "/robots.txt", Resp(body=GARBAGE, content_type="application/octet-stream"))
    urls = serve_pages(mockweb, "/a", "/private/b")

    result = crawl(urls)

    assert result.returncode == 0, result.log
    assert fetched_pages(mockweb) == set(urls)
    evidence = preflight(result)
    assert evidence["status"] == 200
    assert evidence["sha256"] == hashlib.sha256(GARBAGE).hexdigest()
    robots = decision(result, urls[0])["evidence"]
    assert isinstance(robots, dict)
    assert robots["robots"]["rule"] is None


def test_rules_inside_binary_garbage_are_still_obeyed(mockweb: MockWeb, crawl: Crawl) -> None:
    body = GARBAGE + b"\n" + RULES + GARBAGE
    mockweb.add(SITE + "/robots.txt", Resp(body=body, content_type="application/octet-stream"))
    urls = serve_pages(mockweb, "/a", "/private/b")

    result = crawl(urls)

    assert fetched_pages(mockweb) == {SITE + "/a"}
    assert result.stat("polite_crawl/denied/robots.disallowed") == 1
    assert preflight(result)["sha256"] == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize(
    "content_type", ["image/png", "text/html; charset=utf-8", "application/octet-stream"]
)
def test_the_content_type_does_not_void_the_rules(
    mockweb: MockWeb, crawl: Crawl, content_type: str
) -> None:
    # RFC 9309 §2.3 asks publishers for text/plain, but what a crawler MUST do is parse the
    # lines (§2.3.1.5): a wrong label neither voids the rules nor turns them into allow-all.
    mockweb.add(SITE + "/robots.txt", Resp(body=RULES, content_type=content_type))
    urls = serve_pages(mockweb, "/a", "/private/b")

    result = crawl(urls)

    assert fetched_pages(mockweb) == {SITE + "/a"}
    robots = decision(result, SITE + "/private/b")["evidence"]
    assert isinstance(robots, dict)
    assert robots["robots"]["rule"] == {"line": 2, "text": "Disallow: /private"}


# --- answers that never end -------------------------------------------------------------------


def test_headers_then_a_body_that_never_comes_mean_complete_disallow(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    # Unlike a slow first byte (test_crawl_robots.py), the status line and headers say 200 at
    # once: a crawler that decided on the status alone would go ahead.
    mockweb.add(
        SITE + "/robots.txt",
        Resp(body=b"User-agent: *\nAllow: /\n", content_type="text/plain", action="stall"),
    )
    urls = serve_pages(mockweb, "/a")

    result = crawl(urls, {"DOWNLOAD_TIMEOUT": 1})

    assert mockweb.urls() == [SITE + "/robots.txt"]
    assert result.stat("polite_crawl/denied/robots.unreachable") == 1
    assert "TimeoutError" in str(preflight(result)["error"])
    assert f"preflight {SITE}/robots.txt unreachable" in result.log


def test_an_endless_robots_txt_is_read_up_to_the_parse_limit(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    mockweb.add(
        SITE + "/robots.txt",
        Resp(body=RULES + b"# and so on\n" * 100, content_type="text/plain", action="endless"),
    )
    urls = serve_pages(mockweb, "/a", "/private/b")

    result = crawl(urls, {"DOWNLOAD_TIMEOUT": 30})

    assert result.returncode == 0, result.log
    assert fetched_pages(mockweb) == {SITE + "/a"}
    evidence = preflight(result)
    assert evidence["truncated"] is True
    assert evidence["status"] == 200


def test_an_endless_page_is_cut_by_scrapys_size_limit(mockweb: MockWeb, crawl: Crawl) -> None:
    mockweb.add(SITE + "/robots.txt", Resp(body=RULES, content_type="text/plain"))
    mockweb.add(SITE + "/endless", Resp(body=b"<p>more</p>\n", action="endless"))

    result = crawl([SITE + "/endless"], {"DOWNLOAD_MAXSIZE": 1 << 20, "DOWNLOAD_TIMEOUT": 30})

    assert result.returncode == 0, result.log
    assert decision(result, SITE + "/endless")["decision"] == "allow"  # decided before sent
    assert "larger than download max size" in result.log
    assert result.stat("downloader/exception_type_count/scrapy.exceptions.DownloadCancelledError")


# --- redirects no crawler should follow -------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    ["file:///etc/passwd", "ftp://site.test/x", "data:text/plain,hello", "javascript:alert(1)"],
)
def test_a_page_redirect_to_a_non_http_scheme_is_not_followed(
    mockweb: MockWeb, crawl: Crawl, location: str
) -> None:
    # Scrapy's RedirectMiddleware hands such a 302 back as it is (javascript: fails to become a
    # Request at all); the spider's errback hears of it, and nothing reaches the gate or a server.
    mockweb.add(SITE + "/robots.txt", Resp(404))
    mockweb.add(SITE + "/go", Resp(302, headers={"Location": location}))

    result = crawl([SITE + "/go"])

    assert result.returncode == 0, result.log
    assert fetched_pages(mockweb) == {SITE + "/go"}
    assert [r["url"] for r in result.audit if r.get("type") == "decision"] == [SITE + "/go"]
    assert result.stat("test/errback/HttpError") + result.stat("test/errback/ValueError") == 1


HUGE = "/" + "a" * 100_000


def test_a_robots_redirect_with_a_huge_location_means_complete_disallow(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    mockweb.add(SITE + "/robots.txt", Resp(301, headers={"Location": SITE + HUGE}))
    mockweb.add(SITE + HUGE, Resp(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"))
    urls = serve_pages(mockweb, "/a")

    result = crawl(urls)

    assert mockweb.urls() == [SITE + "/robots.txt"]
    assert result.stat("polite_crawl/denied/robots.unreachable") == 1
    # Twisted drops a header line longer than 16 KiB with the connection: no answer at all.
    assert str(preflight(result)["error"]).startswith("DownloadFailedError")
    assert f"preflight {SITE}/robots.txt unreachable" in result.log


def test_a_page_redirect_with_a_huge_location_is_not_followed(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    mockweb.add(SITE + "/robots.txt", Resp(404))
    mockweb.add(SITE + "/go", Resp(302, headers={"Location": SITE + HUGE}))
    mockweb.add(SITE + HUGE, page())

    result = crawl([SITE + "/go"])

    assert result.returncode == 0, result.log
    assert fetched_pages(mockweb) == {SITE + "/go"}
    assert result.stat("downloader/exception_type_count/scrapy.exceptions.DownloadFailedError")
    assert not [r for r in result.audit if r.get("url", "").startswith(SITE + HUGE)]
