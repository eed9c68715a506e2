"""robots.txt fetch outcomes in real crawls (RFC 9309 §2.3-§2.5), proven from the mock web's
record of what it was asked for."""

from __future__ import annotations

import itertools
import socket
from typing import TYPE_CHECKING

import pytest

from polite_crawl.testing.mockweb import Hit, MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]

SITE = "http://site.test"
TEXT = "text/plain"
DISALLOW_PRIVATE = "User-agent: *\nDisallow: /private\n"


def serve_pages(web: MockWeb, *paths: str, origin: str = SITE) -> list[str]:
    for path in paths:
        web.add(origin + path, page())
    return [origin + p for p in paths]


def robots_evidence(result: CrawlResult, url: str) -> dict[str, object]:
    """The robots.txt evidence of url's decision, with the details of the fetch it cites (kept
    once, in the preflight record) merged in."""
    record = next(r for r in result.audit if r.get("url") == url and r["type"] == "decision")
    evidence = dict(record["evidence"]["robots"])
    preflights = [
        r["evidence"]
        for r in result.audit
        if r.get("type") == "preflight"
        and r["kind"] == "robots"
        and r["evidence"]["robots_url"] == evidence.get("robots_url")
        and r["evidence"]["sha256"] == evidence.get("sha256")
    ]
    return {**(preflights[-1] if preflights else {}), **evidence}


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_4xx_means_everything_is_allowed(mockweb: MockWeb, crawl: Crawl, status: int) -> None:
    mockweb.add(SITE + "/robots.txt", Resp(status, "Disallow: /"))
    urls = serve_pages(mockweb, "/a", "/private/b")

    result = crawl(urls)

    assert result.returncode == 0, result.log
    assert all(mockweb.fetched(u) for u in urls)
    assert result.stat("polite_crawl/robots/unavailable") == 1
    assert robots_evidence(result, urls[0])["status"] == status


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_429_and_5xx_mean_complete_disallow(mockweb: MockWeb, crawl: Crawl, status: int) -> None:
    # The error page says "allow all": Scrapy's own middleware would parse it and crawl.
    mockweb.add(SITE + "/robots.txt", Resp(status, "User-agent: *\nAllow: /\n", content_type=TEXT))
    urls = serve_pages(mockweb, "/a", "/b")

    result = crawl(urls)

    assert result.returncode == 0, result.log
    assert mockweb.urls() == [SITE + "/robots.txt"]
    assert result.stat("polite_crawl/denied/robots.unreachable") == 2
    assert robots_evidence(result, urls[0])["status"] == status


def test_a_timeout_means_complete_disallow(mockweb: MockWeb, crawl: Crawl) -> None:
    mockweb.add(SITE + "/robots.txt", Resp(body="User-agent: *\nAllow: /\n", delay=3))
    urls = serve_pages(mockweb, "/a")

    result = crawl(urls, {"DOWNLOAD_TIMEOUT": 1})

    assert mockweb.urls() == [SITE + "/robots.txt"]
    assert result.stat("polite_crawl/denied/robots.unreachable") == 1
    assert "TimeoutError" in str(robots_evidence(result, urls[0])["error"])


def test_a_trickling_robots_txt_means_complete_disallow(mockweb: MockWeb, crawl: Crawl) -> None:
    body = "User-agent: *\nAllow: /\n" + "# slow\n" * 2000
    mockweb.add(SITE + "/robots.txt", Resp(body=body, trickle=0.5, content_type=TEXT))
    urls = serve_pages(mockweb, "/a")

    result = crawl(urls, {"DOWNLOAD_TIMEOUT": 1})

    assert mockweb.urls() == [SITE + "/robots.txt"]
    assert result.stat("polite_crawl/denied/robots.unreachable") == 1


def test_a_connection_reset_means_complete_disallow(mockweb: MockWeb, crawl: Crawl) -> None:
    mockweb.add(SITE + "/robots.txt", Resp(action="reset"))
    urls = serve_pages(mockweb, "/a")

    result = crawl(urls)

    assert mockweb.urls() == [SITE + "/robots.txt"]
    assert result.stat("polite_crawl/denied/robots.unreachable") == 1


def test_a_refused_connection_means_complete_disallow(mockweb: MockWeb, crawl: Crawl) -> None:
    with socket.socket() as probe:  # a loopback port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/a"
    loopback = {"POLITE_CRAWL_ALLOW_INTERNAL_NETWORKS": ["127.0.0.0/8"]}  # refused otherwise

    result = crawl([url], {"HTTPPROXY_ENABLED": False, **loopback})

    assert result.stat("polite_crawl/denied/robots.unreachable") == 1
    assert "ConnectionRefusedError" in str(robots_evidence(result, url)["error"])


def test_a_dns_failure_means_complete_disallow(mockweb: MockWeb, crawl: Crawl) -> None:
    # Without the proxy Scrapy resolves the name itself; the test's network guard makes the
    # lookup fail as a DNS failure would, without sending anything.
    url = "http://unresolvable.test/a"

    result = crawl([url], {"HTTPPROXY_ENABLED": False})

    assert result.stat("polite_crawl/denied/robots.unreachable") == 1
    assert "DNS lookup failed" in str(robots_evidence(result, url)["error"])
    assert mockweb.hits == []


def test_an_unknown_host_means_complete_disallow(mockweb: MockWeb, crawl: Crawl) -> None:
    # The mock web answers 502 for hosts it does not serve, as a proxy would for a DNS failure.
    result = crawl(["http://nowhere.test/a"])

    assert mockweb.urls() == ["http://nowhere.test/robots.txt"]
    assert result.stat("polite_crawl/denied/robots.unreachable") == 1


def test_one_redirect_is_followed_and_rules_apply_to_the_initial_origin(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    mockweb.add(SITE + "/robots.txt", Resp(301, headers={"Location": "https://cdn.test/r.txt"}))
    mockweb.add("https://cdn.test/r.txt", Resp(body=DISALLOW_PRIVATE, content_type=TEXT))
    urls = serve_pages(mockweb, "/a", "/private/b")

    result = crawl(urls)

    assert result.returncode == 0, result.log
    assert mockweb.fetched(SITE + "/a")
    assert not mockweb.fetched(SITE + "/private/b")
    evidence = robots_evidence(result, SITE + "/a")
    assert evidence["robots_url"] == SITE + "/robots.txt"
    assert evidence["final_url"] == "https://cdn.test/r.txt"
    # The redirect target's own origin got no robots.txt of its own from this.
    assert not mockweb.fetched("https://cdn.test/robots.txt")


def test_six_redirects_are_too_many(mockweb: MockWeb, crawl: Crawl) -> None:
    mockweb.add(SITE + "/robots.txt", Resp(302, headers={"Location": "/r1"}))
    for i in range(1, 7):
        mockweb.add(f"{SITE}/r{i}", Resp(302, headers={"Location": f"/r{i + 1}"}))
    mockweb.add(SITE + "/r7", Resp(body="User-agent: *\nAllow: /\n", content_type=TEXT))
    urls = serve_pages(mockweb, "/a")

    result = crawl(urls)

    assert mockweb.urls() == [SITE + "/robots.txt"] + [f"{SITE}/r{i}" for i in range(1, 6)]
    assert result.stat("polite_crawl/denied/robots.unreachable") == 1
    assert robots_evidence(result, urls[0])["error"] == "more than 5 redirects"


def test_five_redirects_are_followed(mockweb: MockWeb, crawl: Crawl) -> None:
    mockweb.add(SITE + "/robots.txt", Resp(302, headers={"Location": "/r1"}))
    for i in range(1, 5):
        mockweb.add(f"{SITE}/r{i}", Resp(302, headers={"Location": f"/r{i + 1}"}))
    mockweb.add(SITE + "/r5", Resp(body=DISALLOW_PRIVATE, content_type=TEXT))
    urls = serve_pages(mockweb, "/a", "/private/b")

    result = crawl(urls)

    assert mockweb.fetched(SITE + "/a")
    assert not mockweb.fetched(SITE + "/private/b")
    assert robots_evidence(result, SITE + "/a")["final_url"] == SITE + "/r5"


def test_a_redirect_loop_is_unreachable(mockweb: MockWeb, crawl: Crawl) -> None:
    mockweb.add(SITE + "/robots.txt", Resp(302, headers={"Location": "/loop"}))
    mockweb.add(SITE + "/loop", Resp(302, headers={"Location": "/robots.txt"}))
    urls = serve_pages(mockweb, "/a")

    result = crawl(urls)

    assert mockweb.urls() == [SITE + "/robots.txt", SITE + "/loop"]
    assert robots_evidence(result, urls[0])["error"] == "redirect loop"


def test_a_10_mib_robots_txt_is_read_up_to_the_limit(mockweb: MockWeb, crawl: Crawl) -> None:
    body = DISALLOW_PRIVATE + "# filler line\n" * (10 * 1024 * 1024 // 14) + "Disallow: /late\n"
    mockweb.add(SITE + "/robots.txt", Resp(body=body, content_type=TEXT))
    urls = serve_pages(mockweb, "/a", "/private/b", "/late")

    result = crawl(urls)

    assert len(body) > 10 * 1024 * 1024
    assert mockweb.fetched(SITE + "/a")
    assert mockweb.fetched(SITE + "/late")  # its rule lies beyond the parse limit
    assert not mockweb.fetched(SITE + "/private/b")
    assert robots_evidence(result, SITE + "/a")["truncated"] is True


def test_non_utf8_bytes_do_not_void_the_file(mockweb: MockWeb, crawl: Crawl) -> None:
    body = b"User-agent: *\nDisallow: /caf\xe9\nDisallow: /private\n"
    mockweb.add(SITE + "/robots.txt", Resp(body=body, content_type="text/plain; charset=latin-1"))
    urls = serve_pages(mockweb, "/a", "/private/b")

    crawl(urls)

    assert mockweb.fetched(SITE + "/a")
    assert not mockweb.fetched(SITE + "/private/b")


def test_an_html_soft_404_allows_everything(mockweb: MockWeb, crawl: Crawl) -> None:
    mockweb.add(SITE + "/robots.txt", page(title="Page not found"))
    urls = serve_pages(mockweb, "/a", "/private/b")

    result = crawl(urls)

    assert all(mockweb.fetched(u) for u in urls)
    assert robots_evidence(result, urls[0])["rule"] is None


def test_http_and_https_have_their_own_robots_txt(mockweb: MockWeb, crawl: Crawl) -> None:
    mockweb.add("http://site.test/robots.txt", Resp(body="User-agent: *\nDisallow: /\n"))
    mockweb.add("https://site.test/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
    serve_pages(mockweb, "/a")
    serve_pages(mockweb, "/a", origin="https://site.test")

    crawl(["http://site.test/a", "https://site.test/a"])

    assert mockweb.fetched("https://site.test/a")
    assert not mockweb.fetched("http://site.test/a")
    assert mockweb.fetched("http://site.test/robots.txt")
    assert mockweb.fetched("https://site.test/robots.txt")


def test_our_product_token_group_applies_not_a_substring_one(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    robots = "User-agent: example\nDisallow: /\n\nUser-agent: examplebot\nDisallow: /private\n"
    mockweb.add(SITE + "/robots.txt", Resp(body=robots, content_type=TEXT))
    urls = serve_pages(mockweb, "/a", "/private/b")

    result = crawl(urls)

    assert mockweb.fetched(SITE + "/a")
    assert not mockweb.fetched(SITE + "/private/b")
    assert robots_evidence(result, SITE + "/a")["group"] == "examplebot"


def later(web: MockWeb, url: str, delay: float, *links: str) -> None:
    """A page on another host that links to `links` only after `delay` seconds."""
    web.add(url, Resp(body=page(*links).body, delay=delay))


def test_an_unreachable_origin_is_asked_again_after_the_backoff(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    answers = itertools.chain([Resp(503)], itertools.repeat(Resp(body=DISALLOW_PRIVATE)))

    def robots(hit: Hit) -> Resp:
        return next(answers)

    mockweb.add(SITE + "/robots.txt", robots)
    serve_pages(mockweb, "/a", "/b")
    mockweb.add("http://other.test/robots.txt", Resp(404))
    later(mockweb, "http://other.test/slow", 1.5, SITE + "/b")

    result = crawl(
        [SITE + "/a", "http://other.test/slow"], {"POLITE_CRAWL_ROBOTS_ERROR_BACKOFF": 1}
    )

    assert mockweb.urls("site.test") == [SITE + "/robots.txt", SITE + "/robots.txt", SITE + "/b"]
    assert result.stat("polite_crawl/denied/robots.unreachable") == 1


def test_an_earlier_good_copy_stays_in_force_while_unreachable(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    answers = itertools.chain([Resp(body=DISALLOW_PRIVATE)], itertools.repeat(Resp(503)))

    def robots(hit: Hit) -> Resp:
        return next(answers)

    mockweb.add(SITE + "/robots.txt", robots)
    serve_pages(mockweb, "/a", "/b", "/private/c")
    mockweb.add("http://other.test/robots.txt", Resp(404))
    later(mockweb, "http://other.test/slow", 1.5, SITE + "/b", SITE + "/private/c")

    result = crawl([SITE + "/a", "http://other.test/slow"], {"POLITE_CRAWL_ROBOTS_CACHE_TTL": 1})

    assert mockweb.urls("site.test") == [
        SITE + "/robots.txt",
        SITE + "/a",
        SITE + "/robots.txt",
        SITE + "/b",
    ]
    evidence = robots_evidence(result, SITE + "/private/c")
    assert evidence["state"] == "parsed"
    assert "unreachable_since" in evidence
    assert result.stat("polite_crawl/denied/robots.disallowed") == 1


def test_the_preflight_record_and_the_decision_cite_the_same_bytes(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    mockweb.add(
        SITE + "/robots.txt",
        Resp(body=DISALLOW_PRIVATE, headers={"Cache-Control": "max-age=3600"}),
    )
    urls = serve_pages(mockweb, "/a")

    result = crawl(urls)

    evidence = robots_evidence(result, urls[0])
    assert evidence["status"] == 200
    preflight = next(r for r in result.audit if r["type"] == "preflight")
    assert preflight["evidence"]["sha256"] == evidence["sha256"]


def test_crawl_delay_spaces_requests_to_the_origin(mockweb: MockWeb, crawl: Crawl) -> None:
    robots = "User-agent: *\nCrawl-delay: 0.6\n"
    mockweb.add(SITE + "/robots.txt", Resp(body=robots, content_type=TEXT))
    urls = serve_pages(mockweb, "/a", "/b", "/c", "/d")

    result = crawl(urls, {"CONCURRENT_REQUESTS": 16})

    times = [h.at for h in mockweb.hits if h.path != "/robots.txt"]
    assert len(times) == 4
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.55, gaps  # jitter never takes a gap below the Crawl-delay
    delay = robots_evidence(result, urls[0])["crawl_delay"]
    assert isinstance(delay, dict)
    assert (delay["requested"], delay["applied"], delay["line"]) == (0.6, 0.6, 2)


def test_crawl_delay_is_capped_and_the_cap_recorded(mockweb: MockWeb, crawl: Crawl) -> None:
    robots = "User-agent: *\nCrawl-delay: 3600\n"
    mockweb.add(SITE + "/robots.txt", Resp(body=robots, content_type=TEXT))
    urls = serve_pages(mockweb, "/a", "/b")

    result = crawl(urls, {"POLITE_CRAWL_ROBOTS_MAX_CRAWL_DELAY": 0.5})

    assert all(mockweb.fetched(u) for u in urls)
    delay = robots_evidence(result, urls[0])["crawl_delay"]
    assert isinstance(delay, dict)
    assert (delay["requested"], delay["applied"]) == (3600, 0.5)


def test_a_persisted_cache_spares_the_second_run_its_robots_txt(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path
) -> None:
    mockweb.add(SITE + "/robots.txt", Resp(body=DISALLOW_PRIVATE, content_type=TEXT))
    urls = serve_pages(mockweb, "/a", "/private/b")
    settings = {"POLITE_CRAWL_ROBOTS_CACHE_PATH": str(tmp_path / "robots.sqlite")}

    crawl(urls, settings)
    first = len(mockweb.hits)
    second = crawl(urls, settings)

    assert [h.path for h in mockweb.hits[first:]] == ["/a"]
    assert second.stat("polite_crawl/denied/robots.disallowed") == 1


def test_an_unreadable_cache_file_stops_the_crawl(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path
) -> None:
    bad = tmp_path / "robots.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    urls = serve_pages(mockweb, "/a")

    result = crawl(urls, {"POLITE_CRAWL_ROBOTS_CACHE_PATH": str(bad)})

    assert result.returncode != 0
    assert f"POLITE_CRAWL_ROBOTS_CACHE_PATH = '{bad}'" in result.log
    assert "not a usable robots.txt cache" in result.log
    assert mockweb.hits == []


def test_parsing_rules_in_one_real_crawl(mockweb: MockWeb, crawl: Crawl) -> None:
    """BOM, CRLF, misspelt directives, merged groups, wildcards, `$`, percent-encoding, ties."""
    robots = (
        b"\xef\xbb\xbfUser-agent: otherbot\r\nDisallow: /\r\n\r\n"
        b"User-agent: ExampleBot/2.0\r\nDissallow: /private\r\nAllow: /private/ok\r\n\r\n"
        b"User-agent: *\r\nDisallow: /\r\n\r\n"
        b"useragent: examplebot\r\nDisallow: /*.gif$\r\nDisallow: /%7Euser\r\n"
        b"Disallow: /tie\r\nAllow: /tie\r\n"
    )
    mockweb.add(SITE + "/robots.txt", Resp(body=robots, content_type=TEXT))
    expected = {
        "/page": True,
        "/private/x": False,
        "/private/ok/1": True,
        "/img/a.gif": False,
        "/img/a.gif?v=2": True,
        "/~user/home": False,
        "/tie": True,
        "/robots.txt": True,
    }
    urls = serve_pages(mockweb, *[p for p in expected if p != "/robots.txt"])

    result = crawl(urls)

    assert result.returncode == 0, result.log
    for path, allowed in expected.items():
        assert mockweb.fetched(SITE + path) is allowed, path
