"""Origin-level opt-out files (TDMRep's /.well-known/tdmrep.json, ai.txt) and page-level TDMRep
signals, proven from the mock web's record: what they reserve is never requested for the
purposes they concern, other paths are, and a crawl they cannot concern never asks for them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from polite_crawl.testing.crawl import run_cli
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]

SITE = "http://press.test"
TDMREP = SITE + "/.well-known/tdmrep.json"
AITXT = SITE + "/ai.txt"
JSON = "application/json"
JPEG = Resp(body=b"\xff\xd8\xff\xe0", content_type="image/jpeg")


def serve_press(web: MockWeb, tdmrep: Resp | None = None, aitxt: Resp | None = None) -> None:
    web.add(SITE + "/robots.txt", Resp(404))
    if tdmrep is not None:
        web.add(TDMREP, tdmrep)
    if aitxt is not None:
        web.add(AITXT, aitxt)
    web.add(SITE + "/", page("/articles/1", "/articles/2", "/blog/1", images=["/img/a.jpg"]))
    for path in ("/articles/1", "/articles/2", "/blog/1"):
        web.add(SITE + path, page())
    web.add(SITE + "/img/a.jpg", JPEG)


RESERVED_ARTICLES = Resp(
    body=json.dumps(
        [
            {
                "location": "/articles/*",
                "tdm-reservation": 1,
                "tdm-policy": SITE + "/tdm-policy.json",
            },
            {"location": "/", "tdm-reservation": 0},
        ]
    ),
    content_type=JSON,
)


@pytest.mark.parametrize("purpose", ["ai-training", "research"])
def test_tdmrep_reserved_paths_are_never_requested_for_mining(
    mockweb: MockWeb, crawl: Crawl, purpose: str
) -> None:
    serve_press(mockweb, RESERVED_ARTICLES)

    result = crawl([SITE + "/"], {"POLITE_CRAWL_PURPOSES": [purpose]})

    assert result.returncode == 0, result.log
    assert not mockweb.fetched(SITE + "/articles/1")
    assert not mockweb.fetched(SITE + "/articles/2")
    assert mockweb.fetched(SITE + "/blog/1")  # other paths on the host are crawled
    assert mockweb.urls().count(TDMREP) == 1  # once per origin, cached
    assert result.stat("polite_crawl/denied/tdmrep.reserved") == 2
    record = next(r for r in result.audit if r.get("reason") == "tdmrep.reserved")
    evidence = record["evidence"]["tdmrep"]
    assert evidence["url"] == TDMREP
    assert evidence["rule"] == {
        "index": 0,
        "location": "/articles/*",
        "tdm-reservation": 1,
        "tdm-policy": SITE + "/tdm-policy.json",
    }
    preflight = next(r for r in result.audit if r.get("kind") == "tdmrep")
    assert preflight["evidence"]["sha256"] == evidence["sha256"]


@pytest.mark.parametrize("purpose", ["archiving", "search-indexing"])
def test_a_crawl_that_is_not_mining_never_asks_for_tdmrep(
    mockweb: MockWeb, crawl: Crawl, purpose: str
) -> None:
    serve_press(mockweb, RESERVED_ARTICLES)

    crawl([SITE + "/"], {"POLITE_CRAWL_PURPOSES": [purpose]})

    assert not mockweb.fetched(TDMREP)
    assert mockweb.fetched(SITE + "/articles/1")


def test_an_unreachable_tdmrep_file_refuses_mining_and_only_mining(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    serve_press(mockweb, Resp(503, "down"))

    mining = crawl([SITE + "/"], {"POLITE_CRAWL_PURPOSES": ["ai-training"]})

    assert mockweb.urls() == [SITE + "/robots.txt", TDMREP]
    assert mining.stat("polite_crawl/denied/tdmrep.unreachable") == 1


def test_a_missing_tdmrep_file_reserves_nothing(mockweb: MockWeb, crawl: Crawl) -> None:
    serve_press(mockweb)  # 404

    crawl([SITE + "/"], {"POLITE_CRAWL_PURPOSES": ["ai-training"]})

    assert mockweb.fetched(SITE + "/articles/1")


def test_a_broken_tdmrep_file_reserves_the_whole_origin(mockweb: MockWeb, crawl: Crawl) -> None:
    broken = '[{"location": "/", "tdm-reservation": 0},]'  # a trailing comma
    serve_press(mockweb, Resp(body=broken, content_type=JSON))

    result = crawl([SITE + "/"], {"POLITE_CRAWL_PURPOSES": ["ai-training"]})

    assert mockweb.urls() == [SITE + "/robots.txt", TDMREP]
    record = next(r for r in result.audit if r.get("reason") == "tdmrep.reserved")
    assert "not valid JSON" in record["evidence"]["tdmrep"]["error"]


def test_a_robots_refusal_costs_no_tdmrep_fetch(mockweb: MockWeb, crawl: Crawl) -> None:
    serve_press(mockweb, RESERVED_ARTICLES)
    mockweb.add(SITE + "/robots.txt", Resp(body="User-agent: *\nDisallow: /\n"))

    crawl([SITE + "/"], {"POLITE_CRAWL_PURPOSES": ["ai-training"]})

    assert mockweb.urls() == [SITE + "/robots.txt"]


def test_images_and_items_of_a_page_whose_meta_tag_reserves_tdm(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    serve_press(mockweb)
    head = '<meta name="tdm-reservation" content="1">'
    mockweb.add(SITE + "/gallery", page("/blog/1", images=["/img/a.jpg"], head=head))

    result = crawl([SITE + "/gallery"], {"POLITE_CRAWL_PURPOSES": ["ai-training"]})
    other = crawl([SITE + "/gallery"], {"POLITE_CRAWL_PURPOSES": ["archiving"]})

    assert result.returncode == 0, result.log
    assert mockweb.urls().count(SITE + "/img/a.jpg") == 1  # only the archiving crawl's
    assert result.stat("polite_crawl/denied/tdmrep.reserved") == 1
    assert other.stat("polite_crawl/denied/tdmrep.reserved") == 0
    assert result.stat("polite_crawl/items_dropped/tdmrep.reserved") == 1
    assert mockweb.fetched(SITE + "/blog/1")  # a linked page has signals of its own


def test_a_response_whose_header_reserves_tdm_is_discarded(mockweb: MockWeb, crawl: Crawl) -> None:
    serve_press(mockweb)
    gallery = page("/blog/1", images=["/img/a.jpg"])
    mockweb.add(SITE + "/gallery", Resp(body=gallery.body, headers={"tdm-reservation": "1"}))

    result = crawl([SITE + "/gallery"], {"POLITE_CRAWL_PURPOSES": ["ai-training"]})
    other = crawl([SITE + "/gallery"], {"POLITE_CRAWL_PURPOSES": ["search-indexing"]})

    # The page was fetched (only the answer says it is reserved), then kept from the spider:
    # no item, none of its links or images followed.
    assert result.stat("polite_crawl/discarded/tdmrep.reserved") == 1
    assert result.items == []
    assert mockweb.urls().count(SITE + "/img/a.jpg") == 1  # only the search-indexing crawl's
    assert other.stat("polite_crawl/discarded/tdmrep.reserved") == 0
    record = next(r for r in result.audit if r.get("decision") == "discard")
    assert record["evidence"]["tdmrep"]["from"] == "the response's tdm-reservation header"


def test_an_image_whose_content_usage_header_refuses_training_is_discarded(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    serve_press(mockweb)
    headers = {"Content-Usage": "train-ai=n"}
    mockweb.add(
        SITE + "/img/a.jpg", Resp(body=b"\xff\xd8\xff", content_type="image/jpeg", headers=headers)
    )

    result = crawl([SITE + "/"], {"POLITE_CRAWL_PURPOSES": ["ai-training"]})

    assert mockweb.fetched(SITE + "/img/a.jpg")
    assert result.stat("polite_crawl/discarded/optout.content_usage") == 1
    assert not any(i.get("url") == SITE + "/img/a.jpg" for i in result.items)


def test_a_meta_tag_supersedes_the_header(mockweb: MockWeb, crawl: Crawl) -> None:
    serve_press(mockweb)
    gallery = page(images=["/img/a.jpg"], head='<meta name="tdm-reservation" content="0">')
    mockweb.add(SITE + "/gallery", Resp(body=gallery.body, headers={"tdm-reservation": "1"}))

    result = crawl([SITE + "/gallery"], {"POLITE_CRAWL_PURPOSES": ["ai-training"]})

    assert result.stat("polite_crawl/denied/tdmrep.reserved") == 0


AI_TXT = Resp(body="# Spawning AI\nUser-Agent: *\nDisallow: *.jpg\nDisallow: /blog/\n")


def test_ai_txt_disallowed_paths_are_never_requested_for_ai(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    serve_press(mockweb, aitxt=AI_TXT)

    result = crawl([SITE + "/"], {"POLITE_CRAWL_PURPOSES": ["ai-training"]})

    assert not mockweb.fetched(SITE + "/img/a.jpg")
    assert not mockweb.fetched(SITE + "/blog/1")
    assert mockweb.fetched(SITE + "/articles/1")
    assert mockweb.urls().count(AITXT) == 1
    assert result.stat("polite_crawl/denied/aitxt.disallowed") == 2
    record = next(r for r in result.audit if r.get("url") == SITE + "/img/a.jpg")
    assert record["evidence"]["aitxt"]["rule"] == {"line": 3, "text": "Disallow: *.jpg"}


def test_ai_txt_does_not_concern_search_indexing(mockweb: MockWeb, crawl: Crawl) -> None:
    serve_press(mockweb, aitxt=AI_TXT)

    crawl([SITE + "/"], {"POLITE_CRAWL_PURPOSES": ["search-indexing"]})

    assert not mockweb.fetched(AITXT)
    assert mockweb.fetched(SITE + "/img/a.jpg")


def test_an_unreachable_ai_txt_refuses_ai_uses(mockweb: MockWeb, crawl: Crawl) -> None:
    serve_press(mockweb, aitxt=Resp(action="reset"))

    result = crawl([SITE + "/"], {"POLITE_CRAWL_PURPOSES": ["ai-input"]})

    # (Twisted retries a GET once when a reused keep-alive connection is reset.)
    assert set(mockweb.urls()) == {SITE + "/robots.txt", TDMREP, AITXT}
    assert result.stat("polite_crawl/denied/aitxt.unreachable") == 1


def test_the_log_verifies_and_keeps_the_files_its_decisions_cite(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path
) -> None:
    serve_press(mockweb, RESERVED_ARTICLES, AI_TXT)
    audit_dir = tmp_path / "audit"

    result = crawl(
        [SITE + "/"],
        {"POLITE_CRAWL_PURPOSES": ["ai-training"], "POLITE_CRAWL_AUDIT_DIR": str(audit_dir)},
    )

    preflights = [r for r in result.audit if r.get("type") == "preflight"]
    assert sorted(r["kind"] for r in preflights) == ["aitxt", "robots", "tdmrep"]
    for record in preflights:
        if record["evidence"]["status"] == 200:
            assert (audit_dir / "evidence" / record["evidence"]["sha256"]).exists()
    verified = run_cli("audit", "verify", str(audit_dir))
    assert verified.returncode == 0, verified.stdout + verified.stderr


TEN_MIB_OF_RULES = "[" + ",".join(['{"location": "/x", "tdm-reservation": 0}'] * 260_000) + "]"


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Resp(body="[]", delay=3), "tdmrep.unreachable"),  # hangs past DOWNLOAD_TIMEOUT
        (Resp(body="[" + " " * 4000 + "]", trickle=0.5), "tdmrep.unreachable"),
        (Resp(action="reset"), "tdmrep.unreachable"),
        (Resp(302, headers={"Location": "/.well-known/tdmrep.json"}), "tdmrep.unreachable"),
        (Resp(429, "slow down"), "tdmrep.unreachable"),
        (Resp(body=TEN_MIB_OF_RULES, content_type=JSON), "tdmrep.reserved"),  # over the limit
        (Resp(body=b"[\x00\xff\xfe garbage", content_type="image/png"), "tdmrep.reserved"),
    ],
    ids=["hang", "trickle", "reset", "redirect-loop", "429", "10-MiB", "garbage-json"],
)
def test_a_tdmrep_fault_never_lets_mining_through(
    mockweb: MockWeb, crawl: Crawl, fault: Resp, reason: str
) -> None:
    serve_press(mockweb, fault)

    result = crawl(
        [SITE + "/articles/1"], {"POLITE_CRAWL_PURPOSES": ["ai-training"], "DOWNLOAD_TIMEOUT": 1}
    )

    assert result.returncode == 0, result.log
    assert not mockweb.fetched(SITE + "/articles/1")
    assert set(mockweb.urls()) == {SITE + "/robots.txt", TDMREP}
    assert result.stat(f"polite_crawl/denied/{reason}") == 1
    record = next(r for r in result.audit if r.get("reason") == reason)
    assert record["evidence"]["tdmrep"]["url"] == TDMREP  # says what happened


def test_binary_garbage_that_is_not_json_is_no_file(mockweb: MockWeb, crawl: Crawl) -> None:
    serve_press(mockweb, Resp(body=b"\x89PNG\r\n\x1a\n\x00\x00garbage", content_type="image/png"))

    crawl([SITE + "/articles/1"], {"POLITE_CRAWL_PURPOSES": ["ai-training"]})

    assert mockweb.fetched(SITE + "/articles/1")
