"""A crawl with a tiny origin cache: an evicted origin's robots.txt is fetched again before its
next request, and every page fetched had its decision first. Proven from the mock web's record."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]

A, B = "http://a.test", "http://b.test"
ROBOTS = "User-agent: *\nDisallow: /private\n"


def serve(web: MockWeb) -> None:
    # One page at a time, alternating between the two sites: each visit to a site comes after
    # the other site has pushed it out of a one-origin cache.
    for origin in (A, B):
        web.add(origin + "/robots.txt", Resp(body=ROBOTS, content_type="text/plain"))
    web.add(A + "/1", page(B + "/1"))
    web.add(B + "/1", page(A + "/2"))
    web.add(A + "/2", page(B + "/2", A + "/private/x"))
    web.add(B + "/2", page(B + "/private/y"))
    for url in (A + "/private/x", B + "/private/y"):
        web.add(url, page())


def test_an_evicted_origin_is_asked_for_robots_txt_again(mockweb: MockWeb, crawl: Crawl) -> None:
    serve(mockweb)

    result = crawl([A + "/1"], {"POLITE_CRAWL_ORIGIN_CACHE_SIZE": 1, "CONCURRENT_REQUESTS": 1})

    assert result.returncode == 0, result.log
    robots = [u for u in mockweb.urls() if u.endswith("/robots.txt")]
    assert robots.count(A + "/robots.txt") >= 2
    assert robots.count(B + "/robots.txt") >= 2
    # With one origin cached, a site's robots.txt is never fetched twice in a row.
    assert all(first != second for first, second in itertools.pairwise(robots))
    assert result.stat("polite_crawl/origin_cache/evicted/robots") >= 2
    pages = [u for u in mockweb.urls() if not u.endswith("/robots.txt")]
    assert sorted(pages) == sorted([A + "/1", B + "/1", A + "/2", B + "/2"])
    # Every page fetched was allowed by a decision logged before it; the disallowed were not.
    allowed = {
        r["url"] for r in result.audit if r["type"] == "decision" and r["decision"] == "allow"
    }
    assert set(pages) <= allowed
    assert result.stat("polite_crawl/denied/robots.disallowed") == 2
    assert not mockweb.fetched(A + "/private/x")
    assert not mockweb.fetched(B + "/private/y")


def test_the_default_cache_fetches_each_robots_txt_once(mockweb: MockWeb, crawl: Crawl) -> None:
    serve(mockweb)

    result = crawl([A + "/1"], {"CONCURRENT_REQUESTS": 1})

    assert result.returncode == 0, result.log
    robots = [u for u in mockweb.urls() if u.endswith("/robots.txt")]
    assert sorted(robots) == [A + "/robots.txt", B + "/robots.txt"]


def test_a_tiny_cache_under_concurrency_refuses_nothing_it_could_decide(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    # 40 sites whose robots.txt answers slowly, three pages of each started at once: with
    # a two-origin cache, preflights complete while requests for other sites wait on theirs.
    # None of those may be refused for a robots.txt that was fetched, nor fetched undecided.
    sites = [f"http://s{n}.test" for n in range(40)]
    for site in sites:
        mockweb.add(site + "/robots.txt", Resp(body=ROBOTS, content_type="text/plain", delay=0.5))
        mockweb.add(site + "/", page(site + "/a", site + "/b", site + "/private/z"))
        mockweb.add(site + "/a", page())
        mockweb.add(site + "/b", page())

    result = crawl(
        [s + p for s in sites for p in ("/", "/a", "/b")],
        {"POLITE_CRAWL_ORIGIN_CACHE_SIZE": 2, "CONCURRENT_REQUESTS": 64},
    )

    assert result.returncode == 0, result.log
    for site in sites:
        assert all(mockweb.fetched(site + p) for p in ("/", "/a", "/b")), site
        assert not mockweb.fetched(site + "/private/z")
    assert result.stat("polite_crawl/denied/robots.unreachable") == 0
    assert result.stat("polite_crawl/denied/robots.disallowed") == 40
