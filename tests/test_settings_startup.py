"""A bad setting stops the crawl before its first request, with one message naming the setting,
the value and the valid choices. Each case runs a real crawl and reads the mock web's record."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from polite_crawl.settings import SettingsError, from_mapping, narrow, product_token
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]

SITE = "http://site.test"
BLOCKER = Path(__file__)  # a file: nothing can be created beneath it, not even by root


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"POLITE_CRAWL_PURPOSES": ["facial_recog"]},
            "POLITE_CRAWL_PURPOSES = ['facial_recog']: 'facial_recog' is not a valid choice "
            "(did you mean 'facial-recognition'?). "
            "Valid choices: search-indexing, archiving, research, ai-training, ai-input, "
            "facial-recognition, commercial-data-collection, monitoring.",
        ),
        ({"POLITE_CRAWL_PURPOSES": None}, "POLITE_CRAWL_PURPOSES is required. Valid choices:"),
        ({"POLITE_CRAWL_PURPOSES": []}, "POLITE_CRAWL_PURPOSES = []: List should have at least 1"),
        (
            {"POLITE_CRAWL_AUDIT_DIR": str(BLOCKER / "audit")},
            f"POLITE_CRAWL_AUDIT_DIR = '{BLOCKER / 'audit'}': the audit directory is not writable",
        ),
        (
            {"POLITE_CRAWL_MODE": "audit"},
            "POLITE_CRAWL_MODE = 'audit': 'audit' is not a valid choice. "
            "Valid choices: enforce, report.",
        ),
        (
            {"POLITE_CRAWL_PURPOSE": ["research"]},
            "unknown setting POLITE_CRAWL_PURPOSE. Valid settings: POLITE_CRAWL_",
        ),
        (
            {"POLITE_CRAWL_CONTACT": "crawler@example.org"},
            "POLITE_CRAWL_CONTACT = 'crawler@example.org': must be an http(s):// URL",
        ),
        (
            {"POLITE_CRAWL_ROBOTS_PARSE_LIMIT": 1000},
            "POLITE_CRAWL_ROBOTS_PARSE_LIMIT = 1000: Input should be greater than or equal "
            "to 512000",
        ),
        (
            {"POLITE_CRAWL_CONSENTS": "/nonexistent/consents.toml"},
            "POLITE_CRAWL_CONSENTS = '/nonexistent/consents.toml': no such file: "
            "/nonexistent/consents.toml.",
        ),
        (
            {"USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64)"},
            "cannot derive a robots.txt product token from USER_AGENT",
        ),
        (
            {"POLITE_CRAWL_USER_AGENT_TOKEN": "otherbot"},
            "does not contain the product token 'otherbot'",
        ),
        (
            {"POLITE_CRAWL_USER_AGENT_TOKEN": "example bot"},
            "POLITE_CRAWL_USER_AGENT_TOKEN = 'example bot': a product token has only",
        ),
        (
            {"POLITE_CRAWL_ALLOW_INTERNAL_NETWORKS": ["10.0.0.1/8"]},
            "POLITE_CRAWL_ALLOW_INTERNAL_NETWORKS = ['10.0.0.1/8']: '10.0.0.1/8' is "
            "not a network in CIDR notation (10.0.0.1/8 has host bits set)",
        ),
    ],
    ids=[
        "unknown-purpose",
        "missing-purposes",
        "empty-purposes",
        "unwritable-audit-dir",
        "bad-mode",
        "misspelt-setting",
        "bad-contact",
        "parse-limit-below-rfc",
        "no-consents",
        "browser-ua",
        "ua-without-token",
        "bad-token",
        "bad-network",
    ],
)
def test_crawl_refuses_to_start(
    mockweb: MockWeb, crawl: Crawl, settings: dict[str, Any], message: str
) -> None:
    mockweb.add(SITE + "/", page())

    result = crawl([SITE + "/"], settings)

    assert result.returncode != 0
    assert "polite_crawl: the crawl cannot start: " in result.log
    assert message in result.log
    assert mockweb.hits == []


def test_command_line_lists_are_comma_separated(mockweb: MockWeb, crawl: Crawl) -> None:
    mockweb.add(SITE + "/", page())

    result = crawl([SITE + "/"], args=["-s", "POLITE_CRAWL_PURPOSES=archiving,research"])

    assert result.returncode == 0, result.log
    start = next(r for r in result.audit if r.get("type") == "run.start")
    assert start["purposes"] == ["archiving", "research"]


WIDENING_SPIDER = """
import scrapy

class Widening(scrapy.Spider):
    name = "widening"
    polite_crawl_purposes = ["research", "ai-training"]

    async def start(self):
        yield scrapy.Request("http://site.test/")
"""

NARROWING_SPIDER = WIDENING_SPIDER.replace('["research", "ai-training"]', '["research"]')


def test_a_spider_may_not_widen_the_purposes(mockweb: MockWeb, crawl: Crawl) -> None:
    mockweb.add(SITE + "/", page())

    result = crawl([], {"POLITE_CRAWL_PURPOSES": ["research"]}, spider_code=WIDENING_SPIDER)

    assert result.returncode != 0
    assert (
        "polite_crawl: the crawl cannot start: spider attribute polite_crawl_purposes may "
        "only narrow POLITE_CRAWL_PURPOSES; not declared: ai-training" in result.log
    )
    assert mockweb.hits == []


def test_a_spider_may_narrow_the_purposes(mockweb: MockWeb, crawl: Crawl) -> None:
    mockweb.add(SITE + "/", page())
    mockweb.add(SITE + "/robots.txt", Resp(404))

    result = crawl(
        [], {"POLITE_CRAWL_PURPOSES": ["research", "archiving"]}, spider_code=NARROWING_SPIDER
    )

    assert result.returncode == 0, result.log
    decision = next(r for r in result.audit if r.get("type") == "decision")
    assert decision["purposes"] == ["research"]


def test_disabled_addon_installs_nothing(mockweb: MockWeb, crawl: Crawl) -> None:
    mockweb.add(SITE + "/", page())

    result = crawl([SITE + "/"], {"POLITE_CRAWL_ENABLED": False})

    assert result.returncode == 0, result.log
    assert "polite_crawl is disabled" in result.log
    assert mockweb.urls() == [SITE + "/"]  # no robots.txt preflight either


# --- the model itself, without a crawl ----------------------------------------------------------


def test_defaults() -> None:
    model = from_mapping({"POLITE_CRAWL_PURPOSES": "research", "OTHER": 1})

    assert [p.value for p in model.purposes] == ["research"]
    assert model.mode == "enforce"
    assert model.robots_parse_limit == 512 * 1024


def test_all_errors_in_one_message() -> None:
    with pytest.raises(SettingsError) as err:
        from_mapping({"POLITE_CRAWL_PURPOSES": ["x"], "POLITE_CRAWL_MODE": "y"})

    assert "POLITE_CRAWL_PURPOSES" in str(err.value)
    assert "POLITE_CRAWL_MODE" in str(err.value)


@pytest.mark.parametrize(
    ("ua", "token", "expected"),
    [
        ("examplebot/1.0 (+https://example.org)", None, "examplebot"),
        ("Mozilla/5.0 (compatible; ExampleBot/2.1)", "examplebot", "examplebot"),
        ("Scrapy/2.19 (+https://scrapy.org)", None, "Scrapy"),
    ],
)
def test_product_token(ua: str, token: str | None, expected: str) -> None:
    model = from_mapping(
        {"POLITE_CRAWL_PURPOSES": ["research"], "POLITE_CRAWL_USER_AGENT_TOKEN": token}
    )

    assert product_token(model, ua) == expected


def test_narrow_accepts_a_comma_string() -> None:
    model = from_mapping({"POLITE_CRAWL_PURPOSES": ["research", "archiving"]})

    assert {p.value for p in narrow(model.purposes, "archiving")} == {"archiving"}
