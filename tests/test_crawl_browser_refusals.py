"""Browser crawls (scrapy-playwright, headless Chromium) where the gate cannot decide, or an
answer is too large: the browser request is never sent (the mock web's own record), the log
has the refusal, and a page refused reaches the spider's errback as PolicyViolation. One crawl
for all of it; the browser set-up is test_crawl_browser.py's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from test_crawl_browser import JPEG, SPIDER, browser_settings, pytestmark

from polite_crawl.testing.crawl import run_crawl
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from polite_crawl.testing.crawl import CrawlResult

__all__ = ["pytestmark"]  # the browser tests' skips and timeout, shared

SITE = "http://shop.test"
SLOW_CDN = "http://slowcdn.test"  # its robots.txt answers long after DOWNLOAD_TIMEOUT
GATE_TIMEOUT = 3  # DOWNLOAD_TIMEOUT: the gate's bound
ROBOTS_DELAY = 6
JPEG_START = b"\xff\xd8\xff\xe0"
MAXSIZE = 100_000
WARNSIZE = 50_000

# The gate's own bound is what is tested, not the preflight's: the spider gives its Scrapy
# requests (the robots.txt preflight among them) a longer timeout than DOWNLOAD_TIMEOUT, so
# the slow robots.txt is still being fetched when the gate gives up. (A preflight that times
# out fails closed on its own: tests/test_crawl_robots.py.) And a fault in the gate itself,
# put there by the spider's module (the crawl's process), for URLs under /boom.
FAULTY_SPIDER = """
from polite_crawl.shell.browser import BrowserGate

_field = BrowserGate._browser_field


def _faulty(request, url, *rest):
    if "/boom" in url:
        raise RuntimeError("injected fault")
    return _field(request, url, *rest)


BrowserGate._browser_field = staticmethod(_faulty)
""" + SPIDER.replace(
    'name = "browser"', f'name = "browser"\n    download_timeout = {ROBOTS_DELAY * 5}'
).replace(
    'yield {"url": response.url, "status": response.status}',
    'yield {"url": response.url, "status": response.status,'
    ' "title": response.xpath("//title/text()").get()}',
)

# A page's script loads data too large to be handed over; the title says what it got.
BIG_FETCH = (
    "<script>fetch('/data/big.json').then(r => r.text())"
    ".then(t => { document.title = 'got ' + t.length; }, () => { document.title = 'refused'; })"
    ".finally(() => { window.done = true; });</script>"
)


def serve(web: MockWeb) -> None:
    web.add(SITE + "/robots.txt", Resp(404))
    web.add(SLOW_CDN + "/robots.txt", Resp(body="User-agent: *\nAllow: /\n", delay=ROBOTS_DELAY))
    web.add(SITE + "/slow", page(images=[SLOW_CDN + "/img/s.jpg", "/img/ok.jpg"]))
    web.add(SITE + "/faulty", page(images=["/boom/b.jpg", "/img/ok2.jpg"]))
    web.add(SITE + "/boom/page", page(images=["/img/never.jpg"]))
    web.add(SITE + "/large", page(images=["/img/large.jpg", "/img/warn.jpg"], head=BIG_FETCH))
    web.add(SITE + "/data/big.json", Resp(body="x" * (MAXSIZE + 1), content_type="text/plain"))
    padding = b"\0" * MAXSIZE
    web.add(SITE + "/img/large.jpg", Resp(body=JPEG_START + padding, content_type="image/jpeg"))
    warn = JPEG_START + b"\0" * WARNSIZE
    web.add(SITE + "/img/warn.jpg", Resp(body=warn, content_type="image/jpeg"))
    for path in ("/img/ok.jpg", "/img/ok2.jpg", "/img/never.jpg", "/boom/b.jpg"):
        web.add(SITE + path, JPEG)
    web.add(SLOW_CDN + "/img/s.jpg", JPEG)


START = [SITE + "/slow", SITE + "/faulty", SITE + "/boom/page", SITE + "/large"]


class Crawled:
    def __init__(self, web: MockWeb, result: CrawlResult) -> None:
        self.web = web
        self.result = result

    def records(self, url: str, decision: str) -> list[dict[str, Any]]:
        return [
            r
            for r in self.result.audit
            if r.get("url") == url and "browser" in r and r["decision"] == decision
        ]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    with MockWeb() as web:
        serve(web)
        settings = browser_settings(
            web,
            DOWNLOAD_TIMEOUT=GATE_TIMEOUT,
            DOWNLOAD_MAXSIZE=MAXSIZE,
            DOWNLOAD_WARNSIZE=WARNSIZE,
            BROWSER_WAIT_URLS=[SITE + "/large"],
        )
        workdir: Path = tmp_path_factory.mktemp("browser-refusals")
        result = run_crawl(web, workdir, START, settings, spider_code=FAULTY_SPIDER, timeout=180)
        yield Crawled(web, result)


def test_no_decision_within_download_timeout_is_a_refusal(crawled: Crawled) -> None:
    """The slow host's robots.txt is asked for (through Scrapy) and still on its way when the
    gate gives up: the image is never requested, and the log says why."""
    assert crawled.result.returncode == 0, crawled.result.log
    assert crawled.web.fetched(SLOW_CDN + "/robots.txt")
    assert not crawled.web.fetched(SLOW_CDN + "/img/s.jpg")
    refused = crawled.records(SLOW_CDN + "/img/s.jpg", "deny")
    assert [r["reason"] for r in refused] == ["browser.gate_failed"], refused
    error = refused[0]["evidence"]["browser"]["error"]
    assert error == f"no decision within DOWNLOAD_TIMEOUT = {float(GATE_TIMEOUT)}s"
    assert refused[0]["enforced"] is True
    assert crawled.web.fetched(SITE + "/img/ok.jpg")  # the page's other image is not held up


def test_an_error_in_the_gate_is_a_refusal(crawled: Crawled) -> None:
    assert not crawled.web.fetched(SITE + "/boom/b.jpg")
    refused = crawled.records(SITE + "/boom/b.jpg", "deny")
    assert [r["reason"] for r in refused] == ["browser.gate_failed"], refused
    assert refused[0]["evidence"]["browser"]["error"] == "injected fault"
    assert crawled.web.fetched(SITE + "/img/ok2.jpg")
    assert crawled.result.stat("polite_crawl/denied/browser.gate_failed") >= 3


def test_a_page_the_browser_gate_refuses_reaches_the_errback_as_policy_violation(
    crawled: Crawled,
) -> None:
    """Its Scrapy request was allowed; the browser's navigation was not (the gate failed):
    the errback gets PolicyViolation with the refusal's reason, as for a Scrapy request."""
    assert not crawled.web.fetched(SITE + "/boom/page")
    assert not crawled.web.fetched(SITE + "/img/never.jpg")
    assert crawled.records(SITE + "/boom/page", "deny")[0]["reason"] == "browser.gate_failed"
    assert crawled.result.stat("test/errback/PolicyViolation") == 1, crawled.result.log
    expected = "polite_crawl refused http://shop.test/boom/page: browser.gate_failed"
    assert f"errback {SITE}/boom/page: PolicyViolation('{expected}')" in crawled.result.log


def test_a_subresource_over_download_maxsize_is_kept_from_the_page(crawled: Crawled) -> None:
    """Fetched (its size is known only from its answer), then kept from the page and
    recorded; one over DOWNLOAD_WARNSIZE only is handed over with a warning."""
    for url in (SITE + "/img/large.jpg", SITE + "/data/big.json"):
        assert crawled.web.fetched(url)
        discarded = crawled.records(url, "discard")
        assert [r["reason"] for r in discarded] == ["browser.too_large"], discarded
        assert discarded[0]["evidence"]["browser"]["limit"] == MAXSIZE
        assert discarded[0]["evidence"]["browser"]["size"] > MAXSIZE
    assert crawled.result.stat("polite_crawl/discarded/browser.too_large") == 2
    titles = {i["url"]: i["title"] for i in crawled.result.items}
    assert titles[SITE + "/large"] == "refused"
    assert crawled.records(SITE + "/img/warn.jpg", "discard") == []
    assert (
        f"{SITE}/img/warn.jpg is {len(JPEG_START) + WARNSIZE} bytes, over DOWNLOAD_WARNSIZE"
        in (crawled.result.log)
    )


@pytest.mark.parametrize("browser", ["firefox", "webkit"])
def test_a_browser_other_than_chromium_stops_the_crawl(
    mockweb: MockWeb, tmp_path: Path, browser: str
) -> None:
    """Only Chromium is gated as checked: another browser is refused at start, in one ERROR
    line naming the setting, and nothing is sent."""
    mockweb.add(SITE + "/robots.txt", Resp(404))
    mockweb.add(SITE + "/", page())
    settings = browser_settings(mockweb, PLAYWRIGHT_BROWSER_TYPE=browser)

    result = run_crawl(mockweb, tmp_path, [SITE + "/"], settings, spider_code=SPIDER)

    assert result.returncode != 0
    errors = [line for line in result.log.splitlines() if " ERROR: " in line]
    assert len(errors) == 1, errors
    assert f"PLAYWRIGHT_BROWSER_TYPE = {browser!r}: polite_crawl gates" in errors[0]
    assert mockweb.hits == []
