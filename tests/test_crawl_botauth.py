"""Web Bot Auth in a real crawl: every request that reaches the server is signed, and the nonce
of every signature it received is in exactly one audit record written before it was sent.

Ground truth is the server's: a MockWeb that verifies each request as it arrives with
http-message-signatures' own HTTPMessageVerifier, its keys read from the key directory that
`polite-crawl bot-auth directory` wrote (not through polite_crawl's signing or verifying code),
and keeps every nonce it received."""

from __future__ import annotations

import io
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from botauth_web import (
    AGENT,
    SITE,
    VerifyingWeb,
    recorded_nonces,
    signed_crawl,
    site,
    superseded,
    web,
)

from polite_crawl.testing.crawl import run_cli, run_crawl
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]

__all__ = ["web"]  # the fixture, used by name


def test_every_request_sent_is_signed_and_its_nonce_recorded_once(
    web: VerifyingWeb, tmp_path: Path
) -> None:
    site(web)
    # An AI purpose: tdmrep.json and ai.txt are asked for too, every preflight kind.
    result = signed_crawl(web, tmp_path, [SITE + "/"], {"POLITE_CRAWL_PURPOSES": ["ai-training"]})

    assert result.returncode == 0, result.log
    paths = {h.path for h in web.hits}
    assert {"/robots.txt", "/", "/a", "/b?q=1", "/old", "/new"} <= paths, paths
    assert web.failures() == []
    received = web.nonces()
    assert len(received) == len(web.hits)
    assert all(n == 1 for n in Counter(received).values())  # each nonce sent once
    recorded = recorded_nonces(result)
    assert all(n == 1 for n in Counter(recorded).values())  # in exactly one record
    assert set(received) == set(recorded) - superseded(result)
    # Preflights: signed with parameters recorded before they were sent.
    pre = [r for r in result.audit if r["type"] == "request.signed"]
    assert {(r["url"], r["cause"], r["kind"]) for r in pre} == {
        (SITE + "/robots.txt", "preflight", "robots"),
        (SITE + "/.well-known/tdmrep.json", "preflight", "tdmrep"),
        (SITE + "/ai.txt", "preflight", "aitxt"),
    }
    # A redirect target is its own decision, with its own nonce.
    by_url = {r["url"]: r for r in result.audit if r["type"] == "decision"}
    old, new = by_url[SITE + "/old"], by_url[SITE + "/new"]
    assert old["signature"]["nonce"] != new["signature"]["nonce"]
    assert "?q=1" in by_url[SITE + "/b?q=1"]["url"]
    assert "@query" in by_url[SITE + "/b?q=1"]["signature"]["components"]
    # What the log keeps: the parameters and the base's hash, never the signature.
    sig = by_url[SITE + "/"]["signature"]
    assert set(sig) == {
        "label", "nonce", "created", "expires", "keyid", "components", "base_sha256"
    }  # fmt: skip
    sent = {h.headers["signature"] for h in web.hits}
    text = "".join(p.read_text() for p in (tmp_path / "audit").glob("logs/*/entries.jsonl"))
    assert not any(value.split(":")[1] in text for value in sent)
    # Each record was durable before its request went: it precedes the response's record.
    order = [(r["type"], r.get("url")) for r in result.audit]
    assert order.index(("decision", SITE + "/a")) < order.index(("fetched", SITE + "/a"))
    # The new record type verifies: the verifier counts it and applies no other rule.
    verified = run_cli("audit", "verify", str(tmp_path / "audit"))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_without_a_signature_agent_requests_are_signed_without_one(
    web: VerifyingWeb, tmp_path: Path
) -> None:
    site(web)
    web.agent = None

    result = signed_crawl(web, tmp_path, [SITE + "/"], {"POLITE_CRAWL_SIGNATURE_AGENT": None})

    assert result.returncode == 0, result.log
    assert web.fetched(SITE + "/a")
    assert web.failures() == []
    assert sorted(web.nonces()) == sorted(recorded_nonces(result))


def test_the_directory_url_as_signature_agent_sends_its_origin(
    web: VerifyingWeb, tmp_path: Path
) -> None:
    # The contract names the setting "the https URL where the key directory is served"; the
    # header carries that URL's origin (the draft's `directory` member type), which the
    # verifier turns back into the directory's URL.
    site(web)
    given = AGENT + "/.well-known/http-message-signatures-directory"

    result = signed_crawl(web, tmp_path, [SITE + "/"], {"POLITE_CRAWL_SIGNATURE_AGENT": given})

    assert result.returncode == 0, result.log
    assert web.fetched(SITE + "/a")
    assert web.failures() == []  # every Signature-Agent was sig1="https://crawler.example.org"
    assert sorted(web.nonces()) == sorted(recorded_nonces(result))


def test_report_only_signs_what_it_lets_through(web: VerifyingWeb, tmp_path: Path) -> None:
    site(web, robots="User-agent: *\nDisallow: /a\n")

    result = signed_crawl(web, tmp_path, [SITE + "/"], {"POLITE_CRAWL_MODE": "report"})

    assert result.returncode == 0, result.log
    assert web.fetched(SITE + "/a")
    assert web.failures() == []
    (would_deny,) = [r for r in result.audit if r.get("url") == SITE + "/a"][:1]
    assert would_deny["enforced"] is False
    assert "signature" in would_deny
    assert set(web.nonces()) == set(recorded_nonces(result)) - superseded(result)


def test_with_signing_off_nothing_is_signed(mockweb: MockWeb, crawl: Crawl) -> None:
    site(mockweb)

    result = crawl([SITE + "/"], {"POLITE_CRAWL_SIGNATURE_AGENT": AGENT})

    assert result.returncode == 0, result.log
    assert mockweb.fetched(SITE + "/a")
    for hit in mockweb.hits:
        assert not {"signature", "signature-input", "signature-agent"} & set(hit.headers)
    assert not [r for r in result.audit if "signature" in r or r["type"] == "request.signed"]
    assert not [r for r in result.audit if "bot_auth_keyid" in r]


def test_parameters_gone_stale_in_a_crawl_delay_queue_are_renewed_and_recorded_first(
    web: VerifyingWeb, tmp_path: Path
) -> None:
    # Lifetime 10 s, fresh while 5 s remain: a request waiting 6 s behind the Crawl-delay
    # would carry a signature about to expire. It gets new parameters, recorded first.
    web.add(SITE + "/robots.txt", Resp(body="User-agent: *\nAllow: /\nCrawl-delay: 6\n"))
    web.add(SITE + "/", page("/a"))
    web.add(SITE + "/a", page())

    result = signed_crawl(web, tmp_path, [SITE + "/"], {"POLITE_CRAWL_SIGNATURE_TTL": 10})

    assert result.returncode == 0, result.log
    assert web.fetched(SITE + "/a")
    assert web.failures() == []
    signed = [r for r in result.audit if r["type"] == "request.signed"]
    renewed = [r for r in signed if r["cause"] == "expired"]
    assert {r["url"] for r in renewed} >= {SITE + "/a"}
    received = web.nonces()
    recorded = recorded_nonces(result)
    assert all(n == 1 for n in Counter(recorded).values())
    assert set(received) == set(recorded) - superseded(result)
    assert {r["replaces"] for r in renewed} <= set(recorded) - set(received)
    for r in renewed:  # the new record comes before the response
        assert r["signature"]["nonce"] in received
        order = [(x["type"], x.get("url")) for x in result.audit]
        assert order.index(("request.signed", r["url"])) < order.index(("fetched", r["url"]))
    assert result.stat("polite_crawl/bot_auth/signed_at_wire/expired") >= 1


def test_a_redirected_preflight_hop_is_signed_with_its_own_recorded_nonce(
    web: VerifyingWeb, tmp_path: Path
) -> None:
    web.add(SITE + "/robots.txt", Resp(301, headers={"Location": SITE + "/rules.txt"}))
    web.add(SITE + "/rules.txt", Resp(body="User-agent: *\nAllow: /\n"))
    web.add(SITE + "/", page())

    result = signed_crawl(web, tmp_path, [SITE + "/"])

    assert result.returncode == 0, result.log
    assert [h.path for h in web.hits] == ["/robots.txt", "/rules.txt", "/"]
    assert web.failures() == []
    pre = [r for r in result.audit if r["type"] == "request.signed"]
    assert [(r["url"], r["kind"]) for r in pre] == [
        (SITE + "/robots.txt", "robots"),
        (SITE + "/rules.txt", "robots"),
    ]
    assert sorted(web.nonces()) == sorted(recorded_nonces(result))


REWRITE = """
import scrapy


class Rewrite:
    # Changes the URL of the request the gate allowed (a private API), after the gate.
    def process_request(self, request, spider=None):
        if request.url.endswith("/a"):
            request._set_url("http://site.test/b")


class Plain(scrapy.Spider):
    name = "plain"
    custom_settings = {"DOWNLOADER_MIDDLEWARES": {"run_spider.Rewrite": 700}}

    async def start(self):
        yield scrapy.Request("http://site.test/a")

    def parse(self, response):
        pass
"""


def test_a_changed_request_report_only_lets_through_is_signed_as_sent(
    web: VerifyingWeb, tmp_path: Path
) -> None:
    site(web)

    result = signed_crawl(web, tmp_path, [], {"POLITE_CRAWL_MODE": "report"}, spider_code=REWRITE)

    assert result.returncode == 0, result.log
    assert web.fetched(SITE + "/b")
    assert not web.fetched(SITE + "/a")
    assert web.failures() == []
    (changed,) = [r for r in result.audit if r.get("cause") == "changed"]
    assert changed["url"] == SITE + "/b"
    assert "@path" in changed["signature"]["components"]
    assert set(web.nonces()) == set(recorded_nonces(result)) - superseded(result)
    (allow,) = [r for r in result.audit if r["type"] == "decision" and r["url"] == SITE + "/a"]
    assert changed["replaces"] == allow["signature"]["nonce"]
    assert allow["signature"]["nonce"] not in web.nonces()


UNSIGNABLE = """
import scrapy

from polite_crawl.botauth import sign
from polite_crawl.botauth.errors import BotAuthError

_sign = sign.Signer.sign


def failing(self, method, url, params, signature_agent=None):
    if "nosign" in url:  # a signature that cannot be made, at decision time or at the wire
        raise BotAuthError(f"test: cannot sign {url}")
    return _sign(self, method, url, params, signature_agent)


sign.Signer.sign = failing


class Plain(scrapy.Spider):
    name = "plain"

    async def start(self):
        yield scrapy.Request("http://site.test/")
        yield scrapy.Request("http://site.test/nosign")
        yield scrapy.Request("http://nosign.test/")  # its robots.txt preflight cannot be signed

    def parse(self, response):
        pass
"""


@pytest.mark.parametrize("mode", ["enforce", "report"])
def test_a_request_that_cannot_be_signed_is_not_sent(
    web: VerifyingWeb, tmp_path: Path, mode: str
) -> None:
    site(web)
    web.add("http://nosign.test/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
    web.add("http://nosign.test/", page())

    result = signed_crawl(web, tmp_path, [], {"POLITE_CRAWL_MODE": mode}, spider_code=UNSIGNABLE)

    assert result.returncode == 0, result.log
    assert web.fetched(SITE + "/")
    assert not [h for h in web.hits if "nosign" in h.url]
    assert web.failures() == []
    refused = {
        r["url"]: r
        for r in result.audit
        if r.get("decision") == "deny" and r["reason"] == "wire.not_signed"
    }
    expected = {SITE + "/nosign", "http://nosign.test/robots.txt"}
    if mode == "report":  # robots.txt unreachable would refuse it; report-only lets it go
        expected.add("http://nosign.test/")
    assert set(refused) == expected
    assert all(r["enforced"] is True and "signature" not in r for r in refused.values())
    assert result.stat("polite_crawl/denied/wire.not_signed") == len(expected)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"POLITE_CRAWL_SIGNATURE_AGENT": "http://crawler.example.org"},
            "POLITE_CRAWL_SIGNATURE_AGENT = 'http://crawler.example.org': "
            "Signature-Agent 'http://crawler.example.org': must be an https URL",
        ),
        (
            {"POLITE_CRAWL_SIGNATURE_AGENT": "https://crawler.example.org/keys/directory.json"},
            "must be an origin, like https://crawler.example.org, or the key directory's URL",
        ),
        (
            {"POLITE_CRAWL_WEB_BOT_AUTH": True, "KEY": b"not a key"},
            "POLITE_CRAWL_WEB_BOT_AUTH = True: ",
        ),
        ({"POLITE_CRAWL_SIGNATURE_TTL": 3}, "POLITE_CRAWL_SIGNATURE_TTL = 3: Input should be"),
    ],
    ids=["http-agent", "other-path-agent", "unusable-key", "ttl-too-short"],
)
def test_a_crawl_with_bad_signing_settings_refuses_to_start(
    mockweb: MockWeb, tmp_path: Path, settings: dict[str, Any], message: str
) -> None:
    mockweb.add(SITE + "/", page())
    settings = dict(settings)
    key = settings.pop("KEY", None)
    audit = tmp_path / "audit"
    if key is not None:
        audit.mkdir()
        (audit / "bot-auth.key").write_bytes(key)
        (audit / "bot-auth.key").chmod(0o600)

    result = run_crawl(
        mockweb, tmp_path, [SITE + "/"], {"POLITE_CRAWL_PURPOSES": ["archiving"], **settings}
    )

    assert result.returncode != 0
    assert "polite_crawl: the crawl cannot start: " in result.log
    assert message in result.log
    if key is not None:
        assert f"{audit / 'bot-auth.key'}: not a usable PEM private key" in result.log
    assert mockweb.hits == []


def test_image_pipeline_requests_are_signed_and_recorded(
    web: VerifyingWeb, tmp_path: Path
) -> None:
    # ImagesPipeline's requests go straight to the engine's downloader, not through the
    # spider: each must still be decided, signed, and its nonce recorded before it is sent.
    from PIL import Image

    images = {}
    for n, colour in enumerate([(200, 10, 10), (10, 200, 10)]):
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8), colour).save(buffer, "PNG")
        images[f"/img{n}.png"] = buffer.getvalue()
    web.add(SITE + "/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
    web.add(SITE + "/gallery", page(images=list(images)))
    for path, body in images.items():
        web.add(SITE + path, Resp(body=body, content_type="image/png"))

    result = signed_crawl(
        web,
        tmp_path,
        [SITE + "/gallery"],
        {"IMAGES_STORE": str(tmp_path / "store")},
        spider="polite_crawl.testing.spiders:ImagesSpider",
    )

    assert result.returncode == 0, result.log
    assert all(web.fetched(SITE + path) for path in images)
    assert web.failures() == []
    image_nonces = [n for hit, n, _ in web.checked if hit.path in images and n is not None]
    assert len(image_nonces) == len(images)
    recorded = recorded_nonces(result)
    assert all(recorded.count(n) == 1 for n in image_nonces)
    assert sorted(web.nonces()) == sorted(recorded)
