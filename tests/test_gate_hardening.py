"""Ways past the gate that a review found, each closed and proven from the server's record."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import pytest

from polite_crawl.core.context import Origin
from polite_crawl.origin.store import FetchResult, FileState
from polite_crawl.policy.consent import Grant
from polite_crawl.robots.parser import parse
from polite_crawl.robots.reader import RobotsStore
from polite_crawl.robots.rules import Rules
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]

SITE = "http://site.test"


def robots(web: MockWeb, body: str | bytes, origin: str = SITE) -> None:
    web.add(origin + "/robots.txt", Resp(body=body, content_type="text/plain"))


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("https://x.com/robots.txt", "tos.prohibited"),
        ("file:///etc/hostname", "scheme.unsupported"),
        ("ftp://site.test/robots.txt", "scheme.unsupported"),
    ],
)
def test_a_robots_redirect_to_a_refused_url_is_not_followed(
    mockweb: MockWeb, crawl: Crawl, location: str, reason: str
) -> None:
    mockweb.add(SITE + "/robots.txt", Resp(302, headers={"Location": location}))
    mockweb.add("https://x.com/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
    mockweb.add(SITE + "/a", page())

    result = crawl([SITE + "/a"], {"POLITE_CRAWL_PURPOSES": ["facial-recognition"]})

    assert mockweb.urls() == [SITE + "/robots.txt"]
    record = next(r for r in result.audit if r.get("decision") == "deny")
    assert record["evidence"]["robots"]["error"] == f"redirect to a refused URL ({reason})"


@pytest.mark.parametrize("path", ["/public/../private/x", "/x/%2E%2E/private/y", "//private/z"])
def test_dot_segments_and_doubled_slashes_do_not_escape_robots_txt(
    mockweb: MockWeb, crawl: Crawl, path: str
) -> None:
    robots(mockweb, "User-agent: *\nDisallow: /private\n")
    mockweb.add(SITE, page())  # the whole origin answers

    result = crawl([SITE + path])

    assert mockweb.urls() == [SITE + "/robots.txt"]
    assert result.stat("polite_crawl/denied/robots.disallowed") == 1


def test_a_host_header_for_another_site_is_refused(mockweb: MockWeb, crawl: Crawl) -> None:
    mockweb.add(SITE, page())
    robots(mockweb, "User-agent: *\nAllow: /\n")
    spider = """
import scrapy

class HostSpider(scrapy.Spider):
    name = "host"

    async def start(self):
        yield scrapy.Request("http://site.test/a", headers={"Host": "www.reddit.com"})
        yield scrapy.Request("http://site.test/b", headers={"Host": "site.test"})
"""

    result = crawl([], spider_code=spider)

    assert result.stat("polite_crawl/denied/request.host_header") == 1
    assert mockweb.urls() == [SITE + "/robots.txt", SITE + "/b"]


def test_the_user_agent_sent_is_the_validated_one(mockweb: MockWeb, crawl: Crawl) -> None:
    mockweb.add(SITE, page())
    robots(mockweb, "User-agent: *\nAllow: /\n")
    spider = """
import scrapy

class UASpider(scrapy.Spider):
    name = "ua"

    async def start(self):
        yield scrapy.Request("http://site.test/plain")
        yield scrapy.Request("http://site.test/browser",
                             headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0)"})
        yield scrapy.Request("http://site.test/own", headers={"User-Agent": "examplebot/2.0"})
"""

    result = crawl(
        [], {"DEFAULT_REQUEST_HEADERS": {"User-Agent": "Mozilla/5.0 (X11)"}}, spider_code=spider
    )

    assert result.stat("polite_crawl/denied/request.user_agent") == 1
    sent = {h.path: h.headers["user-agent"] for h in mockweb.hits}
    assert "/browser" not in sent
    assert sent["/plain"] == "examplebot/1.0 (+https://example.org/bot)"  # pinned, not Mozilla
    assert sent["/robots.txt"] == "examplebot/1.0 (+https://example.org/bot)"
    assert sent["/own"] == "examplebot/2.0"


def test_a_spider_chosen_download_slot_does_not_escape_crawl_delay(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    robots(mockweb, "User-agent: *\nCrawl-delay: 0.5\n")
    mockweb.add(SITE, page())
    spider = """
import scrapy

class SlotSpider(scrapy.Spider):
    name = "slots"

    async def start(self):
        for i in range(4):
            yield scrapy.Request(f"http://site.test/{i}", meta={"download_slot": f"slot{i}"})
"""

    crawl([], {"CONCURRENT_REQUESTS": 16}, spider_code=spider)

    times = [h.at for h in mockweb.hits if h.path != "/robots.txt"]
    assert len(times) == 4
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.45


def test_a_robots_txt_request_reissued_by_another_middleware_does_not_hang(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    robots(mockweb, "User-agent: *\nAllow: /\n")
    mockweb.add(SITE, page())
    spider = '''
import scrapy

class Reissue:
    """A careless ban-retry middleware: it answers robots.txt with a fresh request."""

    def process_response(self, request, response, spider=None):
        if request.url.endswith("/robots.txt") and not request.meta.get("again"):
            return request.replace(meta={"again": True}, dont_filter=True)
        return response


class Plain(scrapy.Spider):
    name = "plain"
    custom_settings = {"DOWNLOADER_MIDDLEWARES": {"run_spider.Reissue": 700}}

    async def start(self):
        yield scrapy.Request("http://site.test/a")
'''

    result = crawl([], spider_code=spider, timeout=60)

    assert result.returncode == 0, result.log
    assert not mockweb.fetched(SITE + "/a")  # robots.txt never arrived: fail closed


def test_disallow_without_a_colon_still_counts() -> None:
    rules = Rules(parse(b"User-agent: *\nDisallow /private\n"), "examplebot")

    assert not rules.match(SITE + "/private/x").allowed


def test_a_utf16_robots_txt_is_read() -> None:
    body = "User-agent: *\nDisallow: /private\n".encode("utf-16")

    assert not Rules(parse(body), "examplebot").match(SITE + "/private").allowed


def fetch(
    status: int | None, at: float, body: bytes = b"User-agent: *\nAllow: /\n"
) -> FetchResult:
    url = SITE + "/robots.txt"
    return FetchResult(url, url, status, body, fetched_at=at)


def test_no_fallback_copy_on_429_or_when_the_copy_is_old() -> None:
    origin = Origin.of(SITE)
    store = RobotsStore("examplebot", clock=lambda: 0.0)
    store.record(origin, fetch(200, 0.0))

    assert not store.record(origin, fetch(429, 10.0)).fallback_usable  # kept, not used
    after = store.record(origin, fetch(503, 20.0))
    assert after.fallback is not None
    assert after.fallback_usable
    stale = RobotsStore("examplebot", clock=lambda: 0.0)
    stale.record(origin, fetch(200, 0.0))
    entry = stale.record(origin, fetch(503, 8 * 24 * 3600.0))
    assert entry.state is FileState.UNREACHABLE
    assert entry.fallback is None


@pytest.mark.parametrize(
    ("url", "covered"),
    [
        ("https://www.reddit.com/r/science", True),
        ("https://www.reddit.com/r/science/top", True),
        ("https://www.reddit.com/r/sciencefiction", False),
        ("https://www.reddit.com.evil.test/r/science", False),
        ("https://www.reddit.com/r/science/../../user/x", False),
        ("http://www.reddit.com/r/science/top", False),
    ],
)
def test_consent_scope_is_a_path_not_a_string_prefix(url: str, covered: bool) -> None:
    grant = Grant.model_validate(
        {
            "id": "g",
            "platform": "reddit",
            "purposes": ["research"],
            "scope": ["https://www.reddit.com/r/science"],
            "granted_by": "Reddit",
            "evidence_url": "https://example.org/g.pdf",
            "evidence_sha256": "a" * 64,
            "valid_from": "2026-01-01",
            "valid_until": "2026-12-31",
        }
    )

    assert grant.covers(url) is covered
