"""The gate decides on what goes on the wire: whatever a downloader middleware changes after the
decision (URL, method, Host, User-Agent) is refused at the download handler, and pacing holds
there whatever AutoThrottle or the downloader slots do. Judged from the mock web's record."""

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


def allow_all(web: MockWeb, origin: str = SITE, extra: str = "") -> None:
    web.add(origin + "/robots.txt", Resp(body=f"User-agent: *\nAllow: /\n{extra}"))


def refusals(result: CrawlResult, reason: str) -> list[dict[str, object]]:
    return [r for r in result.audit if r.get("decision") == "deny" and r.get("reason") == reason]


def test_a_host_header_added_after_the_gate_is_refused(mockweb: MockWeb, crawl: Crawl) -> None:
    # DefaultHeadersMiddleware (400) runs after the gate (100): it used to send this Host
    # header, preflights included, while the log said identity:pass.
    allow_all(mockweb)
    mockweb.add(SITE, page())

    result = crawl([SITE + "/a"], {"DEFAULT_REQUEST_HEADERS": {"Host": "www.reddit.com"}})

    assert result.returncode == 0, result.log
    assert not [h for h in mockweb.hits if h.headers.get("host") == "www.reddit.com"]
    assert not mockweb.fetched(SITE + "/a")
    assert refusals(result, "wire.host_header_changed")
    assert result.stat("polite_crawl/denied/wire.host_header_changed") >= 1


UA_ROTATION = """
import scrapy

class RotateUA:
    def process_request(self, request, spider=None):
        request.headers["User-Agent"] = "BROWSER_UA"


class Plain(scrapy.Spider):
    name = "plain"
    custom_settings = {"DOWNLOADER_MIDDLEWARES": {"run_spider.RotateUA": 400}}

    async def start(self):
        yield scrapy.Request("http://site.test/a")
""".replace("BROWSER_UA", BROWSER_UA)


def test_a_user_agent_rotated_after_the_gate_never_reaches_the_server(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    allow_all(mockweb)
    mockweb.add(SITE, page())

    result = crawl([], spider_code=UA_ROTATION)

    assert result.returncode == 0, result.log
    # Not the robots.txt preflight either: nothing is sent, the origin is unreachable.
    assert not mockweb.hits
    (refused,) = refusals(result, "wire.user_agent_changed")
    assert refused["url"] == SITE + "/robots.txt"
    assert refused["evidence"] == {  # what the log claims is what was decided, not sent
        "wire": {"decided": {"user_agent": TOKEN_UA}, "sent": {"user_agent": BROWSER_UA}}
    }
    assert refusals(result, "robots.unreachable")


def test_a_page_user_agent_rotated_after_the_gate_is_refused_with_the_preflight_sent(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    allow_all(mockweb)
    mockweb.add(SITE, page())
    spider = UA_ROTATION.replace(
        "    def process_request(self, request, spider=None):\n",
        "    def process_request(self, request, spider=None):\n"
        "        if request.url.endswith('/robots.txt'):\n"
        "            return None\n",
    )

    result = crawl([], spider_code=spider)

    assert result.returncode == 0, result.log
    assert [(h.path, h.headers.get("user-agent")) for h in mockweb.hits] == [
        ("/robots.txt", TOKEN_UA)
    ]
    (refused,) = refusals(result, "wire.user_agent_changed")
    assert refused["url"] == SITE + "/a"


URL_CHANGE = """
import scrapy

class Rewrite:
    # Changes the URL of the request object the gate allowed (a private API), after the gate.
    def process_request(self, request, spider=None):
        if request.url.endswith("/a"):
            request._set_url("https://x.com/someone")


class Plain(scrapy.Spider):
    name = "plain"
    custom_settings = {"DOWNLOADER_MIDDLEWARES": {"run_spider.Rewrite": 700}}

    async def start(self):
        yield scrapy.Request("http://site.test/a")
        yield scrapy.Request("http://site.test/b")
"""


def test_a_url_changed_after_the_gate_is_not_fetched(mockweb: MockWeb, crawl: Crawl) -> None:
    allow_all(mockweb)
    allow_all(mockweb, "https://x.com")
    mockweb.add(SITE, page())
    mockweb.add("https://x.com", page())

    result = crawl([], {"POLITE_CRAWL_PURPOSES": ["ai-training"]}, spider_code=URL_CHANGE)

    assert result.returncode == 0, result.log
    assert "x.com" not in mockweb.hosts()
    assert mockweb.fetched(SITE + "/b")
    refused = refusals(result, "wire.url_changed")
    assert refused
    # The refusal is in the log of the platform the changed request would have reached.
    assert {r["platform"] for r in refused} >= {"twitter"}
    fetched = [r["url"] for r in result.audit if r.get("type") == "fetched"]
    assert "https://x.com/someone" not in fetched


METHOD_CHANGE = """
import scrapy

class Post:
    def process_request(self, request, spider=None):
        if request.url.endswith("/a"):
            request.method = "POST"


class Plain(scrapy.Spider):
    name = "plain"
    custom_settings = {"DOWNLOADER_MIDDLEWARES": {"run_spider.Post": 700}}

    async def start(self):
        yield scrapy.Request("http://site.test/a")
"""


def test_a_method_changed_after_the_gate_is_not_sent(mockweb: MockWeb, crawl: Crawl) -> None:
    allow_all(mockweb)
    mockweb.add(SITE, page())

    result = crawl([], spider_code=METHOD_CHANGE)

    assert result.returncode == 0, result.log
    assert [h.method for h in mockweb.hits] == ["GET"]  # robots.txt only
    assert refusals(result, "wire.method_changed")


def test_report_only_mode_records_a_wire_change_and_lets_it_through(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    allow_all(mockweb)
    mockweb.add(SITE, page())

    result = crawl([], {"POLITE_CRAWL_MODE": "report"}, spider_code=METHOD_CHANGE)

    assert result.returncode == 0, result.log
    assert [h.method for h in mockweb.hits] == ["GET", "POST"]
    (record,) = refusals(result, "wire.method_changed")
    assert record["enforced"] is False


def gaps(web: MockWeb, host: str) -> list[float]:
    times = sorted(h.at for h in web.hits if h.host == host)
    return [b - a for a, b in itertools.pairwise(times)]


AUTOTHROTTLE = {
    "AUTOTHROTTLE_ENABLED": True,
    "AUTOTHROTTLE_START_DELAY": 0.0,
    "AUTOTHROTTLE_MAX_DELAY": 5.0,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": 16.0,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
}


@pytest.mark.parametrize(
    "settings",
    [AUTOTHROTTLE, {"DOWNLOAD_DELAY": 0.0, "CONCURRENT_REQUESTS_PER_DOMAIN": 16}],
    ids=["autothrottle", "no-delay"],
)
def test_crawl_delay_holds_on_the_wire(
    mockweb: MockWeb, crawl: Crawl, settings: dict[str, object]
) -> None:
    allow_all(mockweb, extra="Crawl-delay: 1\n")
    mockweb.add(SITE, page(*(f"/{i}" for i in range(6))))

    result = crawl([SITE + "/"], settings, timeout=90)

    assert result.returncode == 0, result.log
    assert len([h for h in mockweb.hits if h.host == "site.test"]) == 8  # robots.txt + 7 pages
    # From the server's own clock, robots.txt included: never two requests within a second.
    assert min(gaps(mockweb, "site.test")) >= 1.0


SLOW_POLICY = """
id = "slowsite"
name = "Slow Site"
reviewed = 2026-11-01
domains = ["slow.test"]

[access]
stance = "allowed"
source = "terms"
clause = "One request a second."
min_delay = 1.0

[[sources]]
id = "terms"
title = "Slow Site terms"
url = "https://slow.test/terms"
date = 2026-11-01
grade = "verified"
"""


def test_a_policy_min_delay_holds_on_the_wire_under_autothrottle(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path
) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "slowsite.toml").write_text(SLOW_POLICY)
    mockweb.add("http://slow.test/robots.txt", Resp(404))
    mockweb.add("http://slow.test", page(*(f"/{i}" for i in range(5))))

    result = crawl(
        ["http://slow.test/"],
        {**AUTOTHROTTLE, "POLITE_CRAWL_POLICY_DIRS": [str(tmp_path / "mine")]},
        timeout=90,
    )

    assert result.returncode == 0, result.log
    pages = [h for h in mockweb.hits if h.host == "slow.test" and h.path != "/robots.txt"]
    assert len(pages) == 6
    assert min(gaps(mockweb, "slow.test")[1:]) >= 1.0  # pages after robots.txt


OWN_HANDLER = """
import inspect

import scrapy
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler


def count(handler):
    crawler = getattr(handler, "crawler", None) or handler._crawler
    crawler.stats.inc_value("test/own_handler")


# A user's own handler (as scrapy-playwright installs one): the add-on wraps it.
if inspect.iscoroutinefunction(HTTP11DownloadHandler.download_request):  # Scrapy >= 2.14

    class CountingHandler(HTTP11DownloadHandler):
        async def download_request(self, request):
            count(self)
            return await super().download_request(request)

else:

    class CountingHandler(HTTP11DownloadHandler):
        def download_request(self, request, spider):
            count(self)
            return super().download_request(request, spider)


class Post:
    def process_request(self, request, spider=None):
        if request.url.endswith("/b"):
            request.method = "POST"


class Plain(scrapy.Spider):
    name = "plain"
    custom_settings = {
        "DOWNLOAD_HANDLERS": {"http": "run_spider.CountingHandler"},
        "DOWNLOADER_MIDDLEWARES": {"run_spider.Post": 700},
    }

    async def start(self):
        yield scrapy.Request("http://site.test/a")
        yield scrapy.Request("http://site.test/b")
"""


def test_a_configured_download_handler_is_wrapped_not_replaced(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    allow_all(mockweb)
    mockweb.add(SITE, page())

    result = crawl([], spider_code=OWN_HANDLER)

    assert result.returncode == 0, result.log
    assert [(h.method, h.path) for h in mockweb.hits] == [("GET", "/robots.txt"), ("GET", "/a")]
    assert result.stat("test/own_handler") == 2  # robots.txt and /a went through it
    assert refusals(result, "wire.method_changed")


SNEAKY_ADDON = """
import scrapy


class Sneaky:
    # Applied after polite_crawl's add-on: it puts Scrapy's plain handler back.
    def update_settings(self, settings):
        settings.set(
            "DOWNLOAD_HANDLERS",
            {"http": "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"},
            priority="addon",
        )


class Plain(scrapy.Spider):
    name = "plain"

    async def start(self):
        yield scrapy.Request("http://site.test/a")
"""


def test_a_handler_replaced_after_the_add_on_stops_the_crawl(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    allow_all(mockweb)
    mockweb.add(SITE, page())

    result = crawl(
        [],
        {"ADDONS": {"polite_crawl.Addon": 0, "run_spider.Sneaky": 10}},
        spider_code=SNEAKY_ADDON,
    )

    assert not mockweb.hits
    assert "was set after the polite_crawl add-on installed its wire check" in result.log
    assert "the crawl cannot start" in result.log


NO_GATE_ADDON = """
import scrapy
from polite_crawl.shell.decide import PoliteDownloaderMiddleware


class NoGate:
    # Applied after polite_crawl's add-on: it takes the gate out of the downloader middlewares.
    def update_settings(self, settings):
        settings.set_in_component_priority_dict(
            "DOWNLOADER_MIDDLEWARES", PoliteDownloaderMiddleware, None
        )


class Plain(scrapy.Spider):
    name = "plain"

    async def start(self):
        yield scrapy.Request("http://site.test/a")
"""


def test_without_the_gate_middleware_nothing_is_sent(mockweb: MockWeb, crawl: Crawl) -> None:
    allow_all(mockweb)
    mockweb.add(SITE, page())

    result = crawl(
        [],
        {"ADDONS": {"polite_crawl.Addon": 0, "run_spider.NoGate": 10}},
        spider_code=NO_GATE_ADDON,
    )

    assert not mockweb.hits
    assert "polite_crawl's decision middleware is missing" in result.log


TWO_VALUES = """
import scrapy

TOKEN_UA = "@TOKEN@"
BROWSER_UA = "@BROWSER@"


class Twice:
    # After the gate: a second value in front of the decided one. Scrapy's Headers.get() reads
    # the last value; the wire carries both, and a server reading the first sees a browser.
    def process_request(self, request, spider=None):
        if request.url.endswith("/b"):
            request.headers.setlist("User-Agent", [BROWSER_UA, TOKEN_UA])
        if request.url.endswith("/d"):
            request.headers.setlist("Host", ["www.reddit.com", "site.test"])


class Plain(scrapy.Spider):
    name = "plain"
    custom_settings = {"DOWNLOADER_MIDDLEWARES": {"run_spider.Twice": 400}}

    async def start(self):
        # From the spider itself, before the gate.
        yield scrapy.Request(
            "http://site.test/a", headers={"User-Agent": [BROWSER_UA, TOKEN_UA]}
        )
        yield scrapy.Request("http://site.test/b")
        yield scrapy.Request(
            "http://site.test/c", headers={"Host": ["www.reddit.com", "site.test"]}
        )
        yield scrapy.Request("http://site.test/d")
        yield scrapy.Request("http://site.test/e")
""".replace("@TOKEN@", TOKEN_UA).replace("@BROWSER@", BROWSER_UA)


def test_a_second_user_agent_or_host_value_never_reaches_the_server(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    allow_all(mockweb)
    mockweb.add(SITE, page())

    result = crawl([], spider_code=TWO_VALUES)

    assert result.returncode == 0, result.log
    assert [h.path for h in mockweb.hits] == ["/robots.txt", "/e"], [
        (h.path, h.header_lines) for h in mockweb.hits
    ]
    assert all(len(h.all("User-Agent")) == 1 for h in mockweb.hits)
    assert all(len(h.all("Host")) <= 1 for h in mockweb.hits)
    assert {r["url"] for r in refusals(result, "request.user_agent")} == {SITE + "/a"}
    assert {r["url"] for r in refusals(result, "wire.user_agent_changed")} == {SITE + "/b"}
    assert {r["url"] for r in refusals(result, "request.host_header")} == {SITE + "/c"}
    assert {r["url"] for r in refusals(result, "wire.host_header_changed")} == {SITE + "/d"}


def test_a_trailing_dot_does_not_make_a_second_paced_host(mockweb: MockWeb, crawl: Crawl) -> None:
    # site.test. is site.test to DNS and to the server: one host, one pace.
    allow_all(mockweb, extra="Crawl-delay: 1\n")
    allow_all(mockweb, "http://site.test.", extra="Crawl-delay: 1\n")
    mockweb.add(SITE, page(*(f"http://site.test./{i}" for i in range(3)), "/x", "/y"))
    mockweb.add("http://site.test.", page())

    result = crawl([SITE + "/"], {"CONCURRENT_REQUESTS_PER_DOMAIN": 16}, timeout=90)

    assert result.returncode == 0, result.log
    assert len(mockweb.hits) == 8  # two robots.txt, three pages on each spelling
    assert min(gaps(mockweb, "site.test") + gaps(mockweb, "site.test.")) >= 1.0
    times = sorted(h.at for h in mockweb.hits)
    assert min(b - a for a, b in itertools.pairwise(times)) >= 1.0


def test_origin_files_after_robots_txt_keep_its_crawl_delay(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    # ai-training needs robots.txt, then tdmrep.json and ai.txt: three requests to a host whose
    # robots.txt asks for a second between requests, before its first page.
    allow_all(mockweb, extra="Crawl-delay: 1\n")
    mockweb.add(SITE, page("/1"))

    result = crawl([SITE + "/"], {"POLITE_CRAWL_PURPOSES": ["ai-training"]}, timeout=90)

    assert result.returncode == 0, result.log
    assert [h.path for h in mockweb.hits][:3] == [
        "/robots.txt",
        "/.well-known/tdmrep.json",
        "/ai.txt",
    ]
    assert min(gaps(mockweb, "site.test")) >= 1.0, [
        (h.path, round(h.at - mockweb.hits[0].at, 3)) for h in mockweb.hits
    ]


STALE_PARSE = """
import scrapy
from scrapy.utils.httpobj import urlparse_cached


class Mirror:
    # Before the gate: reads the URL as many components do (urlparse_cached, as Scrapy's
    # OffsiteMiddleware and get_slot_key do), then rewrites it in place. Scrapy's cache of the
    # parse is keyed by the request object and never learns of the new URL.
    def process_request(self, request, spider=None):
        if urlparse_cached(request).hostname.startswith("mirror"):
            request._set_url("http://site.test" + urlparse_cached(request).path)


class Plain(scrapy.Spider):
    name = "plain"
    custom_settings = {
        "DOWNLOADER_MIDDLEWARES": {"run_spider.Mirror": 60},
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    }

    async def start(self):
        for i in range(5):
            yield scrapy.Request(f"http://mirror{i}.test/{i}")
"""


def test_pacing_follows_the_url_decided_not_a_stale_parse_of_an_earlier_one(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    allow_all(mockweb, extra="Crawl-delay: 1\n")
    mockweb.add(SITE, page())

    result = crawl([], spider_code=STALE_PARSE, timeout=90)

    assert result.returncode == 0, result.log
    assert len(mockweb.hits) == 6  # robots.txt and five pages, all on site.test
    assert min(gaps(mockweb, "site.test")) >= 1.0, [
        (h.path, round(h.at - mockweb.hits[0].at, 3)) for h in mockweb.hits
    ]


WHILE_WAITING = """
import scrapy
from twisted.internet import task


class Later:
    # Passes the gate unchanged, then swaps the User-Agent once the request is in the download
    # handler (the downloader's `transferring` set), waiting for its host's turn: /a, slow to
    # answer, holds it (Crawl-delay).
    @classmethod
    def from_crawler(cls, crawler):
        mw = cls()
        mw.crawler = crawler
        return mw

    def process_request(self, request, spider=None):
        if not request.url.endswith("/b"):
            return

        def swap():
            slots = self.crawler.engine.downloader.slots.values()
            if any(request in slot.transferring for slot in slots):
                request.headers["User-Agent"] = "@BROWSER@"
                loop.stop()

        loop = task.LoopingCall(swap)
        loop.start(0.02)


class Plain(scrapy.Spider):
    name = "plain"
    # Scrapy's own slot delay (the add-on sets it from the Crawl-delay) not randomised: with
    # it, /b could leave Scrapy's slot up to 3 s after /a, just as the pacer let it go, and
    # spend too little time waiting at the wire for the swap to happen there (a flake on CI).
    # Unrandomised, /b reaches the wire 1 s after /a and waits there about 2 s.
    custom_settings = {
        "DOWNLOADER_MIDDLEWARES": {"run_spider.Later": 400},
        "RANDOMIZE_DOWNLOAD_DELAY": False,
    }

    async def start(self):
        yield scrapy.Request("http://site.test/a")
        yield scrapy.Request("http://site.test/b")
""".replace("@BROWSER@", BROWSER_UA)


def test_a_change_made_while_waiting_for_the_pace_is_refused(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    allow_all(mockweb, extra="Crawl-delay: 1\n")
    mockweb.add(SITE + "/a", Resp(body="slow", delay=2.0))
    mockweb.add(SITE, page())

    result = crawl([], spider_code=WHILE_WAITING, timeout=60)

    assert result.returncode == 0, result.log
    seen = [(h.path, round(h.at, 3), h.headers.get("user-agent")) for h in mockweb.hits]
    assert [h.path for h in mockweb.hits] == ["/robots.txt", "/a"], (seen, result.log)
    assert {r["url"] for r in refusals(result, "wire.user_agent_changed")} == {SITE + "/b"}
