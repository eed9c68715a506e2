"""Review of the wire check and wire pacing: what was decided is what the ticket holds, even
when the request changes while its decision waits for robots.txt; report-only mode keeps the
pace of the URLs it would refuse. Judged from the mock web's record."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import pytest

from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]

SITE = "http://site.test"
TOKEN_UA = "examplebot/1.0 (+https://example.org/bot)"
BROWSER_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"


def refusals(result: CrawlResult, reason: str) -> list[dict[str, object]]:
    return [r for r in result.audit if r.get("decision") == "deny" and r.get("reason") == reason]


def gaps(web: MockWeb, host: str) -> list[float]:
    times = sorted(h.at for h in web.hits if h.host == host)
    return [b - a for a, b in itertools.pairwise(times)]


CHANGED_DURING_PREFLIGHT = """
import scrapy


class Plain(scrapy.Spider):
    name = "plain"

    async def start(self):
        # Imported here: at module level it would install the default reactor on Scrapy 2.13.
        from twisted.internet import reactor

        # The spider keeps the requests it yields and changes them a moment later, while the
        # gate waits for robots.txt (which answers after 1.5 s) to decide them.
        a = scrapy.Request("http://site.test/a")
        b = scrapy.Request("http://site.test/b")
        reactor.callLater(0.5, a._set_url, "http://site.test/private")
        reactor.callLater(0.5, b.headers.__setitem__, "User-Agent", "BROWSER_UA")
        yield a
        yield b
        # An empty User-Agent: the gate must not judge the configured one in its place.
        yield scrapy.Request("http://site.test/c", headers={"User-Agent": ""})
""".replace("BROWSER_UA", BROWSER_UA)


def test_a_request_changed_while_its_decision_waits_for_robots_txt_is_not_sent(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    # The decision is made on what the request was when it reached the gate; the ticket the
    # wire check compares with must hold that, not what the request became in the meantime.
    mockweb.add(SITE + "/robots.txt", Resp(body="User-agent: *\nDisallow: /private\n", delay=1.5))
    mockweb.add(SITE, page())

    result = crawl([], spider_code=CHANGED_DURING_PREFLIGHT, timeout=60)

    assert result.returncode == 0, result.log
    assert [h.path for h in mockweb.hits] == ["/robots.txt"], [
        (h.path, h.header_lines) for h in mockweb.hits
    ]
    assert not mockweb.fetched(SITE + "/private")  # robots.txt refuses it
    assert {r["url"] for r in refusals(result, "wire.url_changed")} == {SITE + "/private"}
    assert {r["url"] for r in refusals(result, "wire.user_agent_changed")} == {SITE + "/b"}
    assert {r["url"] for r in refusals(result, "request.user_agent")} == {SITE + "/c"}


def test_report_only_mode_keeps_the_crawl_delay_of_urls_it_would_refuse(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    # Report-only mode lets a refused URL through; the site's Crawl-delay still holds for it.
    mockweb.add(SITE + "/robots.txt", Resp(body="User-agent: *\nCrawl-delay: 1\nDisallow: /\n"))
    mockweb.add(SITE, page(*(f"/{i}" for i in range(4))))

    result = crawl(
        [SITE + "/"],
        {"POLITE_CRAWL_MODE": "report", "CONCURRENT_REQUESTS_PER_DOMAIN": 16},
        timeout=90,
    )

    assert result.returncode == 0, result.log
    assert len(mockweb.hits) == 6  # robots.txt and five pages, all let through
    assert result.stat("polite_crawl/report_only/would_deny/robots.disallowed") == 5
    assert min(gaps(mockweb, "site.test")) >= 1.0, [
        (h.path, round(h.at - mockweb.hits[0].at, 3)) for h in mockweb.hits
    ]


HOST_HEADERS = """
import scrapy


class Plain(scrapy.Spider):
    name = "plain"

    async def start(self):
        for i, host in enumerate(
            [
                "site.test:80@www.reddit.com",  # userinfo: a URL parser reads www.reddit.com
                "site.test:www.reddit.com",  # not a port
                "site.test/www.reddit.com",  # not a host
                "site.test:8080",  # another port than the URL's
                "site.test",
                "SITE.test:80",
            ]
        ):
            yield scrapy.Request(f"http://site.test/{i}", headers={"Host": host})
"""


def test_a_host_header_is_a_plain_host_and_port_naming_the_url(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    # The identity check read only what stands before the first ":", so a Host header that
    # other parsers read as another host (or as no host at all) passed as the URL's.
    mockweb.add(SITE + "/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
    mockweb.add(SITE, page())

    result = crawl([], spider_code=HOST_HEADERS)

    assert result.returncode == 0, result.log
    assert sorted(h.path for h in mockweb.hits) == ["/4", "/5", "/robots.txt"], [
        (h.path, h.header_lines) for h in mockweb.hits
    ]
    refused = {r["url"] for r in refusals(result, "request.host_header")}
    assert refused == {f"{SITE}/{i}" for i in range(4)}


AIOHTTP = "scrapy.core.downloader.handlers._aiohttp.AiohttpDownloadHandler"  # Scrapy >= 2.14


@pytest.mark.parametrize("handler", [None, AIOHTTP], ids=["http11", "aiohttp"])
def test_a_connection_reset_is_not_retried_behind_the_pacers_back(
    mockweb: MockWeb, crawl: Crawl, handler: str | None
) -> None:
    # Twisted's connection pool (and aiohttp's session) sends an idempotent request again, at
    # once, when the kept-alive connection it went out on fails before an answer: the server
    # sees it twice within milliseconds on a host paced to one a second, and with RETRY_ENABLED
    # off (dont_retry too). A retry is RetryMiddleware's to make, through the gate and the pace.
    if handler is not None:
        pytest.importorskip(handler.rpartition(".")[0])
    mockweb.add(SITE + "/robots.txt", Resp(body="User-agent: *\nCrawl-delay: 1\n"))
    mockweb.add(SITE, page("/reset"))
    mockweb.add(SITE + "/reset", Resp(action="reset"))

    settings = {"DOWNLOAD_HANDLERS": {"http": handler}} if handler else {}
    result = crawl([SITE + "/"], settings, timeout=60)

    assert result.returncode == 0, result.log
    assert [h.path for h in mockweb.hits] == ["/robots.txt", "/", "/reset"], [
        (h.path, round(h.at - mockweb.hits[0].at, 3)) for h in mockweb.hits
    ]
    assert min(gaps(mockweb, "site.test")) >= 1.0


def test_origin_files_keep_the_crawl_delay_of_a_robots_txt_read_from_the_cache(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path
) -> None:
    # The second run reads robots.txt from the persisted cache: no preflight tells the pacer
    # the host's Crawl-delay before tdmrep.json and ai.txt are fetched one after the other.
    mockweb.add(SITE + "/robots.txt", Resp(body="User-agent: *\nCrawl-delay: 1\n"))
    mockweb.add(SITE, page())
    cache = {"POLITE_CRAWL_ROBOTS_CACHE_PATH": str(tmp_path / "robots.sqlite")}
    first = crawl([SITE + "/"], cache, timeout=60)
    assert first.returncode == 0, first.log
    before = len(mockweb.hits)

    result = crawl([SITE + "/"], {**cache, "POLITE_CRAWL_PURPOSES": ["ai-training"]}, timeout=60)

    assert result.returncode == 0, result.log
    second = mockweb.hits[before:]
    assert [h.path for h in second] == ["/.well-known/tdmrep.json", "/ai.txt", "/"]
    assert min(b.at - a.at for a, b in itertools.pairwise(second)) >= 1.0, [
        (h.path, round(h.at - second[0].at, 3)) for h in second
    ]


CACHED_PARSE = """
import inspect

import scrapy
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.utils.httpobj import urlparse_cached


# As Scrapy's HTTP/2 stream does for its request line and :authority: the URL sent is the one
# urlparse_cached() gives.
if inspect.iscoroutinefunction(HTTP11DownloadHandler.download_request):  # Scrapy >= 2.14

    class CachedParseHandler(HTTP11DownloadHandler):
        async def download_request(self, request):
            cached = request.replace(url=urlparse_cached(request).geturl())
            return await super().download_request(cached)

else:

    class CachedParseHandler(HTTP11DownloadHandler):
        def download_request(self, request, spider):
            cached = request.replace(url=urlparse_cached(request).geturl())
            return super().download_request(cached, spider)


class Rewrite:
    # Before the gate: the URL is parsed (and cached) as x.com, then rewritten in place.
    def process_request(self, request, spider=None):
        if request.url == "http://x.com/secret":
            urlparse_cached(request)
            request._set_url("http://site.test/page")


class Cached(scrapy.Spider):
    name = "cached"
    custom_settings = {
        "DOWNLOAD_HANDLERS": {"http": CachedParseHandler},
        "DOWNLOADER_MIDDLEWARES": {Rewrite: 50},
    }

    async def start(self):
        yield scrapy.Request("http://x.com/secret")
"""


def test_a_handler_sends_the_url_checked_not_an_earlier_parse_of_it(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    mockweb.add(SITE + "/robots.txt", Resp(404))
    mockweb.add(SITE + "/page", page())
    mockweb.add("http://x.com/robots.txt", Resp(404))
    mockweb.add("http://x.com/secret", page())

    result = crawl([], {"POLITE_CRAWL_PURPOSES": ["ai-training"]}, spider_code=CACHED_PARSE)

    assert result.returncode == 0, result.log
    assert not any(h.host == "x.com" for h in mockweb.hits), [h.url for h in mockweb.hits]
    assert mockweb.fetched(SITE + "/page"), result.log  # what was decided (and allowed) is sent
