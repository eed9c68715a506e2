"""Browser crawls (scrapy-playwright, headless Chromium): every request the browser makes is
decided, and its allow record durable, before the server sees it; what the gate refuses is
never requested. Judged from the mock web's own record: the browser reaches it through its
forward proxy, as Scrapy does."""

from __future__ import annotations

import datetime
import importlib.util
import itertools
import json
import shutil
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from botauth_web import SITE, VerifyingWeb, recorded_nonces, signed_crawl, site, web

from polite_crawl.testing.crawl import run_cli, run_crawl
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from polite_crawl.testing.crawl import CrawlResult

__all__ = ["web"]  # the fixture, used by name

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None, reason="Debian's chromium is not installed (`make chromium`)"
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("scrapy_playwright") is None,
        reason="scrapy-playwright is not installed (the `test` extra)",
    ),
    pytest.mark.timeout(300),
]

ART = "http://art.test"
CDN = "http://cdn.test"
PRESS = "http://press.test"
SW = "http://sw.test"  # treated as a secure origin by the browser, so a service worker may run
TWIMG = "https://pbs.twimg.com/media/face.jpg"
JPEG = Resp(body=b"\xff\xd8\xff\xe0", content_type="image/jpeg")
JSON = "application/json"
# The browser's own traffic, no page's: Debian's chromium checks for component updates at
# start, whatever switches it is given (docs/browser.md, "What is not covered").
BROWSER_OWN = {"update.googleapis.com"}
# A page's script sets window.done once what it started has settled; the spider waits for it.
DONE = "window.done === true"

SPIDER = """
import scrapy
from scrapy_playwright.page import PageMethod


class RunSpider(scrapy.Spider):
    name = "browser"

    async def start(self):
        for url in self.settings.getlist("MOCKWEB_START_URLS"):
            meta = {"playwright": True}
            if url in self.settings.getlist("BROWSER_WAIT_URLS"):
                meta["playwright_page_methods"] = [
                    PageMethod("wait_for_function", DONE, timeout=20000)
                ]
            yield scrapy.Request(url, meta=meta, callback=self.parse, errback=self.refused)

    def parse(self, response):
        yield {"url": response.url, "status": response.status}

    def refused(self, failure):
        self.crawler.stats.inc_value(f"test/errback/{type(failure.value).__name__}")
        self.logger.error("errback %s: %r", failure.request.url, failure.value)
""".replace("DONE", repr(DONE))


def serve(web: MockWeb) -> None:
    web.add(
        ART + "/robots.txt",
        Resp(body="User-agent: *\nDisallow: /private/\n", content_type="text/plain"),
    )
    for origin in (CDN, SW):
        web.add(origin + "/robots.txt", Resp(404))
    web.add(PRESS + "/robots.txt", Resp(404))
    # An ordinary page: its images, one from another allowed host.
    web.add(ART + "/gallery", page(images=["/img/a.jpg", "/img/b.jpg", CDN + "/img/c.jpg"]))
    # A page whose images are off limits for AI (meta tag; header), and an image of a
    # platform whose terms refuse the purpose.
    web.add(
        ART + "/noimageai",
        page(
            images=["/img/n1.jpg", CDN + "/img/n2.jpg"],
            head='<meta name="robots" content="noimageai">',
        ),
    )
    header_page = page(images=["/img/h1.jpg"])
    web.add(ART + "/header", Resp(body=header_page.body, headers={"X-Robots-Tag": "noimageai"}))
    web.add(ART + "/platform", page(images=["/img/ok.jpg", TWIMG]))
    # Data a page loads: one path robots.txt disallows, one it allows.
    script = (
        "<script>Promise.allSettled([fetch('/private/data.json'), fetch('/api/ok.json')])"
        ".then(() => { window.done = true; });</script>"
    )
    web.add(ART + "/xhr", page(head=script))
    web.add(ART + "/private/data.json", Resp(body="{}", content_type=JSON))
    web.add(ART + "/api/ok.json", Resp(body="{}", content_type=JSON))
    # Redirecting images: one to another allowed host, one to a path robots.txt disallows.
    web.add(ART + "/redirect", page(images=["/img/moved.jpg", "/img/away.jpg"]))
    web.add(ART + "/img/moved.jpg", Resp(302, headers={"Location": CDN + "/img/final.jpg"}))
    web.add(ART + "/img/away.jpg", Resp(301, headers={"Location": "/private/away.jpg"}))
    web.add(ART + "/private/away.jpg", JPEG)
    # An image whose own answer forbids AI uses: fetched, then kept from the page.
    web.add(ART + "/tagged", page(images=["/img/tagged.jpg"]))
    web.add(
        ART + "/img/tagged.jpg",
        Resp(body=JPEG.body, content_type="image/jpeg", headers={"X-Robots-Tag": "noai"}),
    )
    # Pages that redirect: to an allowed page, to a disallowed one, and twice in a row.
    web.add(ART + "/go", Resp(302, headers={"Location": "/landing"}))
    web.add(ART + "/landing", page(images=["/img/l.jpg"]))
    web.add(ART + "/img/l.jpg", JPEG)
    web.add(ART + "/go-private", Resp(302, headers={"Location": "/private/page"}))
    web.add(ART + "/private/page", page())
    web.add(ART + "/hop1", Resp(302, headers={"Location": "/hop2"}))
    web.add(ART + "/hop2", Resp(302, headers={"Location": "/private/hop3"}))
    web.add(ART + "/private/hop3", page())
    # A chain of three redirects, cookies set on the way, ending on another host: the page is
    # the last one's (its image's relative URL resolves there).
    web.add(ART + "/chain", Resp(302, headers={"Location": "/chain2", "Set-Cookie": "c1=1"}))
    web.add(ART + "/chain2", Resp(301, headers={"Location": "/chain3", "Set-Cookie": "c2=2"}))
    web.add(ART + "/chain3", Resp(307, headers={"Location": CDN + "/landed"}))
    web.add(CDN + "/landed", page(images=["/img/landed.jpg"]))
    # A frame whose document redirects twice, the second time to a disallowed path.
    web.add(ART + "/framed", page(head='<iframe src="/frame1"></iframe>'))
    web.add(ART + "/frame1", Resp(302, headers={"Location": "/frame2"}))
    web.add(ART + "/frame2", Resp(302, headers={"Location": "/private/frame3"}))
    web.add(ART + "/private/frame3", page())
    # A WebSocket the page opens.
    socket = (
        "<script>const s = new WebSocket('ws://art.test/socket');"
        "s.onclose = () => { window.done = true; };</script>"
    )
    web.add(ART + "/ws", page(head=socket))
    # Two popups: one whose own image robots.txt disallows, one whose page says noimageai.
    web.add(
        ART + "/popup", page(head="<script>window.open('/pop'); window.open('/pop2');</script>")
    )
    loaded = (
        "<script>window.onload = () => { const o = window.opener;"
        " o.loaded = (o.loaded || 0) + 1; if (o.loaded === 2) { o.done = true; } };</script>"
    )
    web.add(ART + "/pop", page(images=["/img/pop.jpg", "/private/pop.jpg"], head=loaded))
    noimageai = '<meta name="robots" content="noimageai">'
    web.add(ART + "/pop2", page(images=["/img/pop2.jpg"], head=noimageai + loaded))
    # A service worker the page tries to register.
    register = (
        "<script>navigator.serviceWorker.register('/sw.js')"
        ".then(() => { window.done = true; }, () => { window.done = true; });</script>"
    )
    web.add(SW + "/", page(head=register))
    web.add(
        SW + "/sw.js",
        Resp(body="self.addEventListener('fetch', () => {});", content_type="text/javascript"),
    )
    # A page whose images TDMRep reserves.
    web.add(
        PRESS + "/.well-known/tdmrep.json",
        Resp(
            body=json.dumps([{"location": "/reserved/*", "tdm-reservation": 1}]),
            content_type=JSON,
        ),
    )
    web.add(PRESS + "/", page(images=["/reserved/r.jpg", "/open/o.jpg"]))
    for path in (
        "/img/a.jpg",
        "/img/b.jpg",
        "/img/n1.jpg",
        "/img/h1.jpg",
        "/img/ok.jpg",
        "/img/pop.jpg",
        "/private/pop.jpg",
        "/img/pop2.jpg",
    ):
        web.add(ART + path, JPEG)
    for path in ("/img/c.jpg", "/img/n2.jpg", "/img/final.jpg", "/img/landed.jpg"):
        web.add(CDN + path, JPEG)
    for path in ("/reserved/r.jpg", "/open/o.jpg"):
        web.add(PRESS + path, JPEG)


START = [
    ART + "/gallery",
    ART + "/noimageai",
    ART + "/header",
    ART + "/platform",
    ART + "/xhr",
    ART + "/redirect",
    ART + "/tagged",
    ART + "/popup",
    ART + "/go",
    ART + "/go-private",
    ART + "/hop1",
    ART + "/chain",
    ART + "/framed",
    ART + "/ws",
    SW + "/",
    PRESS + "/",
]
WAIT = [ART + "/xhr", ART + "/popup", ART + "/ws", SW + "/"]


def browser_settings(web: MockWeb, **more: Any) -> dict[str, Any]:
    """scrapy-playwright as its README sets it up, with Debian's chromium and the mock web's
    proxy; polite_crawl's add-on is in the base settings."""
    handler = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
    return {
        "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": CHROMIUM,
            "proxy": {"server": web.proxy_url},
            "args": [f"--unsafely-treat-insecure-origin-as-secure={SW}"],
        },
        "POLITE_CRAWL_PURPOSES": ["ai-training"],
        "DOWNLOAD_TIMEOUT": 30,
        "BROWSER_WAIT_URLS": WAIT,
        **more,
    }


class Crawled:
    def __init__(self, web: MockWeb, result: CrawlResult, workdir: Path) -> None:
        self.web = web
        self.result = result
        self.workdir = workdir
        self.audit = result.audit

    def browser_records(self, url: str) -> list[dict[str, Any]]:
        return [r for r in self.audit if r.get("url") == url and "browser" in r]

    def refusal(self, url: str) -> dict[str, Any]:
        found = [r for r in self.browser_records(url) if r["decision"] == "deny"]
        assert found, f"no refusal recorded for {url}"
        return found[0]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    with MockWeb() as web:
        serve(web)
        workdir: Path = tmp_path_factory.mktemp("browser")
        result = run_crawl(
            web, workdir, START, browser_settings(web), spider_code=SPIDER, timeout=240
        )
        yield Crawled(web, result, workdir)


def test_the_crawl_ran_in_the_browser(crawled: Crawled) -> None:
    result = crawled.result
    assert result.returncode == 0, result.log
    assert result.stat("playwright/page_count") >= len(START), result.log
    assert {i["url"] for i in result.items} >= {ART + "/gallery", PRESS + "/"}


def test_the_log_with_browser_records_verifies(crawled: Crawled) -> None:
    verified = run_cli("audit", "verify", str(crawled.workdir / "audit"))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_every_request_the_server_saw_has_an_allow_record_written_before(
    crawled: Crawled,
) -> None:
    """The acceptance rule, over every hit but the origin files (their preflight records are
    written once fetched) and the browser's own traffic."""
    preflight = ("/robots.txt", "/.well-known/tdmrep.json", "/ai.txt")
    assert len(crawled.web.hits) > 20
    for hit in crawled.web.hits:
        if hit.path in preflight or hit.host in BROWSER_OWN:
            continue
        at = datetime.datetime.fromtimestamp(hit.at, tz=datetime.timezone.utc)
        allows = [
            r
            for r in crawled.audit
            if r.get("type") == "decision" and r["url"] == hit.url and r["decision"] == "allow"
        ]
        assert allows, f"{hit.url} reached the server with no allow record"
        written = min(
            datetime.datetime.fromisoformat(r["ts"].replace("Z", "+00:00")) for r in allows
        )
        assert written <= at, f"{hit.url}: its allow record was written after the server saw it"


def test_a_pages_images_from_allowed_hosts_are_fetched_and_recorded(crawled: Crawled) -> None:
    for url in (ART + "/img/a.jpg", ART + "/img/b.jpg", CDN + "/img/c.jpg"):
        assert crawled.web.fetched(url)
        record = crawled.browser_records(url)[0]
        assert record["decision"] == "allow"
        assert record["browser"] == {"resource_type": "image", "navigation": False}
    # The page it came from, within the platform's own log only (cdn.test is another site).
    assert crawled.browser_records(ART + "/img/a.jpg")[0]["via"] == ART + "/gallery"
    # The page's document, as the browser asked for it, is decided too.
    document = crawled.browser_records(ART + "/gallery")[0]
    assert document["browser"] == {"resource_type": "document", "navigation": True}


@pytest.mark.parametrize("url", [ART + "/img/n1.jpg", CDN + "/img/n2.jpg", ART + "/img/h1.jpg"])
def test_a_noimageai_pages_images_are_never_requested(crawled: Crawled, url: str) -> None:
    assert not crawled.web.fetched(url)
    record = crawled.refusal(url)
    assert record["reason"] == "optout.noimageai"
    assert record["evidence"]["signals"]["kind"] == "image"


def test_an_image_on_a_refused_platform_is_never_requested(crawled: Crawled) -> None:
    assert not any(h.host == "pbs.twimg.com" for h in crawled.web.hits)
    assert crawled.refusal(TWIMG)["reason"].startswith("tos.")
    assert crawled.web.fetched(ART + "/img/ok.jpg")  # the page's other image is fetched


def test_a_tdmrep_reserved_path_is_never_requested(crawled: Crawled) -> None:
    assert not crawled.web.fetched(PRESS + "/reserved/r.jpg")
    assert crawled.refusal(PRESS + "/reserved/r.jpg")["reason"] == "tdmrep.reserved"
    assert crawled.web.fetched(PRESS + "/open/o.jpg")


def test_an_xhr_to_a_robots_disallowed_path_is_never_sent(crawled: Crawled) -> None:
    assert not crawled.web.fetched(ART + "/private/data.json")
    record = crawled.refusal(ART + "/private/data.json")
    assert record["reason"] == "robots.disallowed"
    assert record["browser"]["resource_type"] == "fetch"
    assert crawled.web.fetched(ART + "/api/ok.json")


def test_a_popup_is_routed_through_the_gate(crawled: Crawled) -> None:
    assert crawled.web.fetched(ART + "/pop")
    assert crawled.browser_records(ART + "/pop")[0]["decision"] == "allow"
    assert crawled.web.fetched(ART + "/img/pop.jpg")
    assert not crawled.web.fetched(ART + "/private/pop.jpg")
    assert crawled.refusal(ART + "/private/pop.jpg")["reason"] == "robots.disallowed"
    # A popup's page's signals reach its images too.
    assert crawled.web.fetched(ART + "/pop2")
    assert not crawled.web.fetched(ART + "/img/pop2.jpg")
    assert crawled.refusal(ART + "/img/pop2.jpg")["reason"] == "optout.noimageai"


def test_a_websocket_is_refused_and_recorded(crawled: Crawled) -> None:
    assert not any(h.path == "/socket" for h in crawled.web.hits)
    refused = crawled.refusal("ws://art.test/socket")
    assert refused["reason"] == "browser.websocket"
    assert refused["browser"]["resource_type"] == "websocket"


def test_a_service_worker_is_never_fetched(crawled: Crawled) -> None:
    assert crawled.web.fetched(SW + "/")
    assert not crawled.web.fetched(SW + "/sw.js")


def test_each_redirect_hop_is_decided_before_it_is_followed(crawled: Crawled) -> None:
    assert crawled.web.fetched(CDN + "/img/final.jpg")
    hop = crawled.browser_records(CDN + "/img/final.jpg")[0]
    assert hop["decision"] == "allow"
    assert hop["browser"]["redirected_from"] == ART + "/img/moved.jpg"
    # A hop the gate refuses is never requested.
    assert crawled.web.fetched(ART + "/img/away.jpg")
    assert not crawled.web.fetched(ART + "/private/away.jpg")
    refused = crawled.refusal(ART + "/private/away.jpg")
    assert refused["reason"] == "robots.disallowed"
    assert refused["browser"]["redirected_from"] == ART + "/img/away.jpg"


def test_a_page_redirect_is_decided_before_the_browser_follows_it(crawled: Crawled) -> None:
    hop = crawled.browser_records(ART + "/landing")[0]
    assert hop["decision"] == "allow"
    assert hop["browser"]["redirected_from"] == ART + "/go"
    assert crawled.web.fetched(ART + "/img/l.jpg")
    assert not crawled.web.fetched(ART + "/private/page")
    assert crawled.refusal(ART + "/private/page")["reason"] == "robots.disallowed"


def test_a_second_page_redirect_in_a_row_is_decided(crawled: Crawled) -> None:
    assert crawled.browser_records(ART + "/hop2")[0]["decision"] == "allow"
    assert not crawled.web.fetched(ART + "/private/hop3")
    refused = crawled.refusal(ART + "/private/hop3")
    assert refused["reason"] == "robots.disallowed"
    assert refused["browser"] == {
        "resource_type": "document",
        "navigation": True,
        "redirected_from": ART + "/hop2",
    }


def test_every_hop_of_a_page_redirect_chain_is_decided_and_the_page_is_the_last(
    crawled: Crawled,
) -> None:
    """Three hops: each has its allow record (naming the hop before it), carries the cookies
    the hops before it set and the User-Agent the gate judged; the page the spider gets, and
    the one the browser shows (its image's relative URL), are the last URL's."""
    hops = [(ART + "/chain2", ART + "/chain"), (ART + "/chain3", ART + "/chain2")]
    hops.append((CDN + "/landed", ART + "/chain3"))
    for url, previous in hops:
        record = crawled.browser_records(url)[0]
        assert record["decision"] == "allow", url
        assert record["browser"]["redirected_from"] == previous
    hits = {h.url: h for h in crawled.web.hits}
    assert hits[ART + "/chain2"].headers.get("cookie") == "c1=1"
    assert hits[ART + "/chain3"].headers.get("cookie") == "c1=1; c2=2"
    agents = {hits[url].headers["user-agent"] for url in (ART + "/chain", *dict(hops))}
    assert len(agents) == 1
    assert "examplebot" in agents.pop()
    assert {"url": CDN + "/landed", "status": 200} in crawled.result.items
    assert crawled.web.fetched(CDN + "/img/landed.jpg")


def test_a_frames_second_redirect_in_a_row_is_decided(crawled: Crawled) -> None:
    assert crawled.web.fetched(ART + "/frame2")
    assert crawled.browser_records(ART + "/frame2")[0]["decision"] == "allow"
    assert not crawled.web.fetched(ART + "/private/frame3")
    refused = crawled.refusal(ART + "/private/frame3")
    assert refused["reason"] == "robots.disallowed"
    assert refused["browser"]["redirected_from"] == ART + "/frame2"


def test_a_page_the_gate_refuses_reaches_the_errback_as_policy_violation(
    crawled: Crawled,
) -> None:
    """A page whose redirect (first or second) the browser gate refused: the spider's errback
    gets the PolicyViolation a Scrapy request refused by the gate raises."""
    assert crawled.result.stat("test/errback/PolicyViolation") == 2, crawled.result.log
    for start, refused in (
        (ART + "/go-private", ART + "/private/page"),
        (ART + "/hop1", ART + "/private/hop3"),
    ):
        expected = f"PolicyViolation('polite_crawl refused {refused}: robots.disallowed')"
        assert f"errback {start}: {expected}" in crawled.result.log


def test_an_answer_whose_own_headers_forbid_the_purpose_is_kept_from_the_page(
    crawled: Crawled,
) -> None:
    assert crawled.web.fetched(ART + "/img/tagged.jpg")
    records = crawled.browser_records(ART + "/img/tagged.jpg")
    discarded = [r for r in records if r["decision"] == "discard"]
    assert discarded, records
    assert discarded[0]["reason"] == "optout.noai"
    assert crawled.result.stat("polite_crawl/discarded/optout.noai") == 1


SLOW = "http://slow.test"
USER_PREDICATE = """
from pathlib import Path

SEEN = Path(__file__).with_name("user_predicate_saw.txt")


async def abort(request):
    with SEEN.open("a") as out:
        out.write(request.url + "\\n")
    return "/skip/" in request.url
"""


def test_a_paced_host_and_the_users_own_predicate(mockweb: MockWeb, tmp_path: Path) -> None:
    """A host with a Crawl-delay renders (its page does not hold the host's turn while its
    images wait for it), each of its requests the delay after the previous one; a user's
    PLAYWRIGHT_ABORT_REQUEST runs after the gate allows, and never sees what it refused."""
    robots = "User-agent: *\nCrawl-delay: 0.3\nDisallow: /private/\n"
    mockweb.add(SLOW + "/robots.txt", Resp(body=robots, content_type="text/plain"))
    shown = ["/i/1.jpg", "/i/2.jpg", "/skip/3.jpg", "/private/4.jpg"]
    mockweb.add(SLOW + "/p", page(images=shown))
    for path in shown:
        mockweb.add(SLOW + path, JPEG)
    workdir = tmp_path / "crawl"
    workdir.mkdir()
    (workdir / "user_predicate.py").write_text(USER_PREDICATE)
    settings = browser_settings(mockweb, PLAYWRIGHT_ABORT_REQUEST="user_predicate.abort")

    result = run_crawl(mockweb, workdir, [SLOW + "/p"], settings, spider_code=SPIDER, timeout=120)

    assert result.returncode == 0, result.log
    assert mockweb.fetched(SLOW + "/i/1.jpg")
    assert mockweb.fetched(SLOW + "/i/2.jpg")
    assert not mockweb.fetched(SLOW + "/private/4.jpg")
    # Allowed by the gate, then aborted by the user's predicate: recorded, never sent.
    assert not mockweb.fetched(SLOW + "/skip/3.jpg")
    skip = [r for r in result.audit if r.get("url") == SLOW + "/skip/3.jpg"]
    assert [r["decision"] for r in skip] == ["allow"]
    saw = (workdir / "user_predicate_saw.txt").read_text().split()
    assert SLOW + "/skip/3.jpg" in saw
    assert SLOW + "/private/4.jpg" not in saw
    # The server's own clock: each request the delay after the one before (robots.txt first).
    times = [h.at for h in mockweb.hits if h.host == "slow.test"]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) >= 4
    assert min(gaps) >= 0.3 * 0.9, gaps


def test_browser_requests_are_signed_with_web_bot_auth(web: VerifyingWeb, tmp_path: Path) -> None:
    """Web Bot Auth: every request the browser sends is signed, its nonce in the record of
    its decision, written before it; a redirect hop too."""
    site(web)
    web.add(SITE + "/gallery", page(images=["/i/1.jpg", "/i/old.jpg"]))
    web.add(SITE + "/i/1.jpg", JPEG)
    web.add(SITE + "/i/old.jpg", Resp(302, headers={"Location": SITE + "/i/new.jpg"}))
    web.add(SITE + "/i/new.jpg", JPEG)
    settings = browser_settings(web, POLITE_CRAWL_PURPOSES=["archiving"])

    result = signed_crawl(web, tmp_path, [SITE + "/gallery"], settings, spider_code=SPIDER)

    assert result.returncode == 0, result.log
    for url in ("/gallery", "/i/1.jpg", "/i/old.jpg", "/i/new.jpg"):
        assert web.fetched(SITE + url), url
    assert [f for f in web.failures() if f[0].startswith(SITE)] == []
    received = [n for (hit, n, _) in web.checked if n is not None and hit.url.startswith(SITE)]
    assert all(n == 1 for n in Counter(received).values())  # each nonce sent once
    recorded = recorded_nonces(result)
    assert set(received) <= set(recorded)
    browser = [r for r in result.audit if "browser" in r and "signature" in r]
    expected = {SITE + u for u in ("/gallery", "/i/1.jpg", "/i/new.jpg")}
    assert {r["url"] for r in browser} >= expected


def test_a_subclass_of_the_playwright_handler_stops_the_crawl(
    mockweb: MockWeb, tmp_path: Path
) -> None:
    """A handler of the user's own deriving from scrapy-playwright's would render pages with no
    gate in the browser: the crawl does not start, and nothing is sent."""
    workdir = tmp_path / "crawl"
    workdir.mkdir()
    (workdir / "user_handler.py").write_text(
        "from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler\n\n\n"
        "class MyHandler(ScrapyPlaywrightDownloadHandler):\n    pass\n"
    )
    settings = browser_settings(mockweb, DOWNLOAD_HANDLERS={"http": "user_handler.MyHandler"})

    result = run_crawl(mockweb, workdir, [ART + "/gallery"], settings, spider_code=SPIDER)

    assert result.returncode != 0
    assert "a subclass of scrapy-playwright's handler" in result.log
    assert mockweb.hits == []


def _when(ts: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))
