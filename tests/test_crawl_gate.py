"""The gate in real crawls. What was or was not fetched is read from the mock web's own record."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]

SITE = "http://site.test"
ROBOTS = Resp(body="User-agent: *\nDisallow: /private\n", content_type="text/plain")


def serve_site(web: MockWeb) -> None:
    web.add(SITE + "/robots.txt", ROBOTS)
    web.add(SITE + "/", page("/public", "/private/secret"))
    web.add(SITE + "/public", page())
    web.add(SITE + "/private/secret", page())


def test_a_denied_request_is_never_sent(mockweb: MockWeb, crawl: Crawl) -> None:
    serve_site(mockweb)

    result = crawl([SITE + "/"])

    assert result.returncode == 0, result.log
    assert mockweb.urls().count(SITE + "/robots.txt") == 1
    assert mockweb.fetched(SITE + "/public")
    assert not mockweb.fetched(SITE + "/private/secret")
    assert result.stat("polite_crawl/denied/robots.disallowed") == 1
    assert result.stat("test/errback/PolicyViolation") == 1
    denied = [r for r in result.audit if r.get("decision") == "deny"]
    assert [r["url"] for r in denied] == [SITE + "/private/secret"]
    assert denied[0]["evidence"]["robots"]["rule"] == {"line": 2, "text": "Disallow: /private"}
    assert "1 denied (robots.disallowed: 1)" in result.log


def test_robots_txt_is_fetched_before_anything_else_on_the_origin(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    mockweb.add(
        SITE + "/robots.txt",
        Resp(body="User-agent: *\nAllow: /\n", delay=0.5, content_type="text/plain"),
    )
    for i in range(10):
        mockweb.add(f"{SITE}/p{i}", page())

    result = crawl([f"{SITE}/p{i}" for i in range(10)])

    assert result.returncode == 0, result.log
    paths = [h.path for h in mockweb.hits]
    assert paths[0] == "/robots.txt"
    assert paths.count("/robots.txt") == 1  # one fetch in flight per origin, the rest parked
    assert sorted(paths[1:]) == sorted(f"/p{i}" for i in range(10))  # parked, not dropped
    robots_done = mockweb.hits[0].at + 0.5
    assert all(h.at >= robots_done - 0.05 for h in mockweb.hits[1:])


def test_a_redirect_to_a_denied_url_is_not_followed(mockweb: MockWeb, crawl: Crawl) -> None:
    serve_site(mockweb)
    mockweb.add(SITE + "/go", Resp(302, headers={"Location": "/private/secret"}))
    mockweb.add(SITE + "/away", Resp(301, headers={"Location": "http://closed.test/x"}))
    mockweb.add("http://closed.test/robots.txt", Resp(503, "down"))
    mockweb.add("http://closed.test/x", page())

    result = crawl([SITE + "/go", SITE + "/away"])

    assert result.returncode == 0, result.log
    assert mockweb.fetched(SITE + "/go")
    assert mockweb.fetched(SITE + "/away")
    assert not mockweb.fetched(SITE + "/private/secret")
    assert mockweb.fetched("http://closed.test/robots.txt")
    assert not mockweb.fetched("http://closed.test/x")
    assert result.stat("polite_crawl/denied/robots.disallowed") == 1
    assert result.stat("polite_crawl/denied/robots.unreachable") == 1


BYPASS_SPIDER = """
import scrapy

class BypassSpider(scrapy.Spider):
    name = "bypass"

    async def start(self):
        for key in ("dont_obey_robotstxt", "polite_crawl_skip"):
            yield scrapy.Request("http://site.test/private/secret", meta={key: True},
                                 dont_filter=True)
"""


def test_meta_keys_cannot_bypass_the_gate(mockweb: MockWeb, crawl: Crawl) -> None:
    serve_site(mockweb)

    result = crawl([], spider_code=BYPASS_SPIDER)

    assert result.returncode == 0, result.log
    assert not mockweb.fetched(SITE + "/private/secret")
    assert "cannot bypass the gate" in result.log
    assert result.stat("polite_crawl/bypass_ignored/dont_obey_robotstxt") == 1
    assert "2 denied (robots.disallowed: 2)" in result.log


def test_report_mode_lets_denied_requests_through_and_says_so(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    serve_site(mockweb)

    result = crawl([SITE + "/"], {"POLITE_CRAWL_MODE": "report"})

    assert result.returncode == 0, result.log
    assert mockweb.fetched(SITE + "/private/secret")
    assert result.stat("polite_crawl/report_only/would_deny/robots.disallowed") == 1
    assert result.stat("polite_crawl/denied/robots.disallowed") == 0
    assert "REPORT-ONLY: would refuse http://site.test/private/secret" in result.log
    assert "REPORT-ONLY MODE, let through although denied: robots.disallowed: 1" in result.log
    record = next(r for r in result.audit if r.get("decision") == "deny")
    assert record["enforced"] is False
    assert record["mode"] == "report"


def test_robotstxt_obey_is_replaced_and_said_once(mockweb: MockWeb, crawl: Crawl) -> None:
    serve_site(mockweb)
    mockweb.add(SITE + "/robots.txt", Resp(503, "down"))

    result = crawl([SITE + "/"], {"ROBOTSTXT_OBEY": True})

    assert result.returncode == 0, result.log
    assert result.log.count("Scrapy's RobotsTxtMiddleware is disabled") == 1
    assert "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware" not in result.log
    # Scrapy's own middleware would have fetched "/" after the 503 (fail-open); we did not.
    assert mockweb.urls() == [SITE + "/robots.txt"]
    assert result.stat("robotstxt/request_count") == 0


def test_data_urls_need_no_robots_txt(mockweb: MockWeb, crawl: Crawl) -> None:
    result = crawl(["data:text/html,<p>hello</p>"])

    assert result.returncode == 0, result.log
    assert mockweb.hits == []
    assert result.stat("polite_crawl/allowed") == 1


def test_the_gate_and_its_write_ahead_work_under_a_non_asyncio_reactor(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    # An allowed request waits for its record on an asyncio future under Scrapy's default
    # reactor and on a Deferred under any other: the second path must hold as well.
    serve_site(mockweb)

    result = crawl([SITE + "/"], {"TWISTED_REACTOR": "twisted.internet.epollreactor.EPollReactor"})

    assert result.returncode == 0, result.log
    assert "EPollReactor" in result.log
    assert mockweb.fetched(SITE + "/public")
    assert not mockweb.fetched(SITE + "/private/secret")
    allowed = [r["url"] for r in result.audit if r.get("decision") == "allow"]
    assert sorted(allowed) == [SITE + "/", SITE + "/public"]
    assert result.stat("polite_crawl/allowed") == 2
