"""Internal addresses (loopback, private, link-local, CGNAT, multicast, reserved, unique-local):
never requested, whether a start URL, a page redirect, or a robots.txt or tdmrep.json redirect
points there, in any spelling of the address, and not for a name whose DNS answer is one when
Scrapy resolves names itself. POLITE_CRAWL_ALLOW_INTERNAL_NETWORKS opens the networks an intranet
crawl needs. The mock web's record (it would record `http://169.254.169.254/...` like any other
host) and the loopback server's own hits are the ground truth; the audit log says why."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]

SITE = "http://site.test"
REASON = "request.internal_address"
NOT_FOUND = Resp(404, "", content_type="text/plain")

# Every spelling a client could read as an internal address: dotted, decimal, octal, hex, short
# and mixed IPv4 forms, IPv6 literals and IPv4 embedded in IPv6, and the localhost names.
INTERNAL = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/",
    "http://127.0.0.1/",
    "http://10.0.0.1/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.0.0.1/",
    "http://0x7f000001/",
    "http://127.1/",
    "http://0177.0x0.1/",
    "http://127.0.0.1./",
    "http://0/",
    "http://100.64.0.1/",
    "http://192.168.1.1:8080/admin",
    "http://172.16.0.1/",
    "http://224.0.0.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://[64:ff9b::a00:1]/",
    "http://localhost/",
    "http://app.localhost/",
]


def host_of(url: str) -> str:
    return url.split("//", 1)[1].split("/", 1)[0]


def serve_internal(web: MockWeb) -> None:
    # Each internal host answers, so that a request that got out would be recorded and served.
    for url in INTERNAL:
        web.add(url.split("/", 3)[0] + "//" + host_of(url), page(title="internal"))


def internal_hits(web: MockWeb) -> list[str]:
    return [h.url for h in web.hits if not h.host.endswith(".test")]


def denials(result: CrawlResult) -> list[dict[str, Any]]:
    return [r for r in result.audit if r.get("type") == "decision" and r["reason"] == REASON]


def test_page_redirects_to_internal_addresses_are_never_followed(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    mockweb.add(SITE + "/robots.txt", NOT_FOUND)
    serve_internal(mockweb)
    starts = []
    for i, target in enumerate(INTERNAL):
        mockweb.add(f"{SITE}/r{i}", Resp(302, headers={"Location": target}))
        starts.append(f"{SITE}/r{i}")

    result = crawl(starts)

    assert result.returncode == 0, result.log
    assert internal_hits(mockweb) == []
    assert sorted(mockweb.urls()) == sorted([SITE + "/robots.txt", *starts])
    assert len(denials(result)) == len(INTERNAL)
    assert result.stat(f"polite_crawl/denied/{REASON}") == len(INTERNAL)
    by_host = {r["evidence"]["address"]["host"]: r["evidence"]["address"] for r in denials(result)}
    assert by_host["2130706433"] == {
        "host": "2130706433",
        "address": "127.0.0.1",
        "range": "127.0.0.0/8",
        "kind": "loopback",
    }
    assert by_host["::ffff:a9fe:a9fe"]["embedded"] == "169.254.169.254"
    assert by_host["::ffff:a9fe:a9fe"]["kind"] == "IPv4-mapped link-local"


def test_robots_redirects_to_internal_addresses_are_never_followed(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    serve_internal(mockweb)
    starts = []
    for i, target in enumerate(INTERNAL):
        origin = f"http://s{i}.test"
        mockweb.add(origin + "/robots.txt", Resp(301, headers={"Location": target}))
        mockweb.add(origin + "/a", page())
        starts.append(origin + "/a")

    result = crawl(starts)

    assert result.returncode == 0, result.log
    assert internal_hits(mockweb) == []
    assert sorted(mockweb.urls()) == sorted(u.replace("/a", "/robots.txt") for u in starts)
    errors = [r["evidence"]["error"] for r in result.audit if r.get("type") == "preflight"]
    assert errors == [f"redirect to a refused URL ({REASON})"] * len(INTERNAL)
    assert result.stat("polite_crawl/denied/robots.unreachable") == len(INTERNAL)


@pytest.mark.parametrize(
    ("path", "kind", "purpose"),
    [
        ("/.well-known/tdmrep.json", "tdmrep", "research"),
        ("/ai.txt", "aitxt", "ai-training"),
    ],
)
def test_an_opt_out_file_redirect_to_an_internal_address_is_not_followed(
    mockweb: MockWeb, crawl: Crawl, path: str, kind: str, purpose: str
) -> None:
    serve_internal(mockweb)
    mockweb.add(SITE + "/robots.txt", NOT_FOUND)
    mockweb.add(
        SITE + path, Resp(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    )
    mockweb.add(SITE + "/a", page())

    result = crawl([SITE + "/a"], {"POLITE_CRAWL_PURPOSES": [purpose]})

    assert internal_hits(mockweb) == []
    assert mockweb.urls()[-1] == SITE + path
    assert not mockweb.fetched(SITE + "/a")
    record = next(r for r in result.audit if r.get("kind") == kind)
    assert record["evidence"]["error"] == f"redirect to a refused URL ({REASON})"
    assert result.stat(f"polite_crawl/denied/{kind}.unreachable") == 1


def test_start_urls_at_internal_addresses_are_refused(mockweb: MockWeb, crawl: Crawl) -> None:
    serve_internal(mockweb)

    result = crawl(INTERNAL)

    assert result.returncode == 0, result.log
    assert mockweb.urls() == []  # not even a robots.txt
    assert len(denials(result)) == len(INTERNAL)
    record = next(
        r for r in denials(result) if r["url"] == "http://169.254.169.254/latest/meta-data/"
    )
    assert record["evidence"]["address"]["kind"] == "link-local"
    assert record["trace"] == "scheme:pass address:deny"


def test_an_intranet_crawl_goes_through_with_the_opt_in(mockweb: MockWeb, crawl: Crawl) -> None:
    intranet = "http://10.1.2.3"
    mockweb.add(intranet + "/robots.txt", NOT_FOUND)
    mockweb.add(intranet + "/", page("/next", "http://169.254.169.254/latest/meta-data/"))
    mockweb.add(intranet + "/next", page())
    serve_internal(mockweb)

    result = crawl([intranet + "/"], {"POLITE_CRAWL_ALLOW_INTERNAL_NETWORKS": ["10.0.0.0/8"]})

    assert result.returncode == 0, result.log
    assert mockweb.urls() == [intranet + "/robots.txt", intranet + "/", intranet + "/next"]
    allowed = next(r for r in result.audit if r.get("url") == intranet + "/")
    assert allowed["decision"] == "allow"
    assert allowed["evidence"]["address"] == {
        "host": "10.1.2.3",
        "address": "10.1.2.3",
        "range": "10.0.0.0/8",
        "kind": "private",
        "allowed_by": "10.0.0.0/8",
    }
    # Only the networks named are opened: the metadata address stays refused.
    assert [r["url"] for r in denials(result)] == ["http://169.254.169.254/latest/meta-data/"]


def test_report_only_mode_still_refuses_internal_addresses(mockweb: MockWeb, crawl: Crawl) -> None:
    # Report-only mode lets a site's refusals through to see what they would cost; a request to
    # the crawler's own network protects no site, so it is refused in both modes.
    serve_internal(mockweb)
    mockweb.add(SITE + "/robots.txt", Resp(body="User-agent: *\nDisallow: /private\n"))
    mockweb.add(SITE + "/", page("/private/x", "http://169.254.169.254/latest/meta-data/"))
    mockweb.add(SITE + "/private/x", page())

    result = crawl([SITE + "/"], {"POLITE_CRAWL_MODE": "report"})

    assert result.returncode == 0, result.log
    assert internal_hits(mockweb) == []
    assert mockweb.fetched(
        SITE + "/private/x"
    )  # report-only: the robots.txt refusal is let through
    [record] = denials(result)
    assert record["enforced"] is True
    assert result.stat(f"polite_crawl/denied/{REASON}") == 1
    assert result.stat(f"polite_crawl/report_only/would_deny/{REASON}") == 0


# --- names Scrapy resolves itself (no proxy) ---------------------------------------------------

# The test's stand-in for DNS: the network guard answers `intranet.test` with 127.0.0.1 in the
# crawl's process (NETGUARD_HOSTS), as an intranet name (or a public name whose owner points it
# inside) would. Everything after the answer is real: Scrapy's resolver, Twisted's connection,
# the loopback server below.
RESOLVERS = ["scrapy.resolver.CachingThreadedResolver", "scrapy.resolver.CachingHostnameResolver"]


@pytest.fixture
def loopback_server() -> Iterator[tuple[int, list[str]]]:
    """A plain HTTP server on 127.0.0.1 that records the paths it is asked for."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = b"<html><body>intranet</body></html>" if self.path != "/robots.txt" else b""
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port, hits
    finally:
        server.shutdown()
        server.server_close()


def direct(resolver: str, **more: Any) -> dict[str, Any]:
    # No proxy: Scrapy resolves the names itself, with the resolver the project chose.
    return {
        "HTTPPROXY_ENABLED": False,
        "TWISTED_DNS_RESOLVER": resolver,
        "DNS_RESOLVER": resolver,  # its name before Scrapy 2.14
        **more,
    }


@pytest.mark.parametrize("resolver", RESOLVERS)
def test_a_name_that_resolves_to_loopback_is_not_fetched(
    crawl: Crawl,
    loopback_server: tuple[int, list[str]],
    resolver: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, hits = loopback_server
    urls = [f"http://intranet.test:{port}/a", f"http://localhost:{port}/b"]
    monkeypatch.setenv("NETGUARD_HOSTS", "intranet.test=127.0.0.1")

    result = crawl(urls, direct(resolver))

    assert result.returncode == 0, result.log
    assert hits == []
    # localhost is loopback by definition (RFC 6761): refused before any lookup.
    assert [r["url"] for r in denials(result)] == [urls[1]]
    # intranet.test: its robots.txt lookup answered loopback, so the lookup failed.
    preflight = next(r for r in result.audit if r.get("type") == "preflight")
    assert "DNS lookup failed" in preflight["evidence"]["error"]
    assert result.stat("polite_crawl/denied/robots.unreachable") == 1
    assert result.stat("polite_crawl/dns_refused") >= 1
    assert "polite_crawl: refused the DNS answer for intranet.test: 127.0.0.1" in result.log
    # The resolver the project chose is the one wrapped (not Twisted's default).
    assert f"(resolver: {resolver.rsplit('.', 1)[1]})" in result.log


@pytest.mark.parametrize("resolver", RESOLVERS)
def test_a_name_that_resolves_to_loopback_is_fetched_with_the_opt_in(
    crawl: Crawl,
    loopback_server: tuple[int, list[str]],
    resolver: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, hits = loopback_server
    urls = [f"http://intranet.test:{port}/a", f"http://localhost:{port}/b"]
    monkeypatch.setenv("NETGUARD_HOSTS", "intranet.test=127.0.0.1")
    opt_in = {"POLITE_CRAWL_ALLOW_INTERNAL_NETWORKS": ["127.0.0.0/8"]}

    result = crawl(urls, direct(resolver, **opt_in))

    assert result.returncode == 0, result.log
    assert sorted(hits) == ["/a", "/b", "/robots.txt", "/robots.txt"]
    assert denials(result) == []
    assert result.stat("polite_crawl/dns_refused") == 0
