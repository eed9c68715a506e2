"""After the fetch, proven by real crawls through Scrapy's stock ImagesPipeline: an image whose
own header or embedded metadata forbids the declared purpose was fetched (the server saw it:
metadata can only be read then) but ends up in no file of IMAGES_STORE and in no item, and is
recorded as discarded with its reason."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pytest

from polite_crawl.testing.crawl import run_cli
from polite_crawl.testing.images import (
    VOCAB,
    base_image,
    training_mining_store,
    with_c2pa,
    with_xmp,
    xmp_packet,
)
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]

SITE = "http://gallery.test"
CLEAN = SITE + "/img/clean.jpg"
HEADER = SITE + "/img/header.png"  # answered with X-Robots-Tag: noimageai
XMP = SITE + "/img/xmp.jpg"  # XMP plus:DataMining = DMI-PROHIBITED-AIMLTRAINING
C2PA = SITE + "/img/c2pa.png"  # CAWG training-mining: ai_training constrained
IMAGES = [CLEAN, HEADER, XMP, C2PA]

BODIES = {
    CLEAN: base_image("jpeg", (10, 120, 10)),
    HEADER: base_image("png", (10, 10, 120)),
    XMP: with_xmp(
        base_image("jpeg", (120, 10, 10)), xmp_packet(VOCAB + "DMI-PROHIBITED-AIMLTRAINING")
    ),
    C2PA: with_c2pa(
        base_image("png", (120, 120, 10)),
        training_mining_store({"cawg.ai_training": "constrained", "cawg.data_mining": "allowed"}),
    ),
}

IMAGES_SPIDER = "polite_crawl.testing.spiders:ImagesSpider"
GALLERY = "http://gallery.test/gallery"


def serve(web: MockWeb) -> None:
    web.add(SITE + "/robots.txt", Resp(404))
    web.add(SITE + "/gallery", page(images=[u.removeprefix(SITE) for u in IMAGES]))
    for url, body in BODIES.items():
        content_type = "image/png" if url.endswith(".png") else "image/jpeg"
        headers = {"X-Robots-Tag": "noimageai"} if url == HEADER else {}
        web.add(url, Resp(body=body, content_type=content_type, headers=headers))


DISCARDED = {
    HEADER: "optout.noimageai",
    XMP: "optout.xmp_data_mining",
    C2PA: "optout.c2pa_training_mining",
}


def stored_files(store: Path) -> list[Path]:
    return [p for p in store.rglob("*") if p.is_file()] if store.exists() else []


@pytest.mark.parametrize(
    ("purpose", "mode", "kept"),
    [
        ("ai-training", "enforce", [CLEAN]),
        ("search-indexing", "enforce", IMAGES),
        ("ai-training", "report", IMAGES),
    ],
)
def test_images_whose_header_or_metadata_forbid_the_purpose_are_discarded(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path, purpose: str, mode: str, kept: list[str]
) -> None:
    serve(mockweb)
    store = tmp_path / "images"

    result = crawl(
        [GALLERY],
        {
            "POLITE_CRAWL_PURPOSES": [purpose],
            "POLITE_CRAWL_MODE": mode,
            "IMAGES_STORE": str(store),
        },
        spider=IMAGES_SPIDER,
    )

    assert result.returncode == 0, result.log
    # Every image was fetched: what forbids them is only known from the response.
    assert all(mockweb.fetched(u) for u in IMAGES)
    (item,) = result.items
    assert sorted(i["url"] for i in item["images"]) == sorted(kept)
    assert len(stored_files(store)) == len(kept)
    discards = {r["url"]: r for r in result.audit if r.get("decision") == "discard"}
    if purpose == "search-indexing":
        assert discards == {}
        return
    assert {u: r["reason"] for u, r in discards.items()} == DISCARDED
    for reason in DISCARDED.values():
        key = "discarded" if mode == "enforce" else "report_only/would_discard"
        assert result.stat(f"polite_crawl/{key}/{reason}") == 1
    assert all(r["enforced"] is (mode == "enforce") for r in discards.values())

    found = discards[XMP]["evidence"]["xmp_data_mining"]
    assert found["code"] == "DMI-PROHIBITED-AIMLTRAINING"
    assert found["where"] == "JPEG APP1"
    assert found["purpose"] == "ai-training"
    assert found["sha256"] == hashlib.sha256(BODIES[XMP]).hexdigest()
    found = discards[C2PA]["evidence"]["c2pa_training_mining"]
    assert (found["label"], found["entry"], found["use"]) == (
        "cawg.training-mining",
        "cawg.ai_training",
        "constrained",
    )
    assert found["where"] == "PNG caBX"
    assert found["sha256"] == hashlib.sha256(BODIES[C2PA]).hexdigest()
    assert discards[C2PA]["trace"] == (
        "signals:pass page_signals:pass tdmrep:pass content_usage:pass xmp_data_mining:pass "
        "c2pa_training_mining:deny"
    )


def test_the_discards_are_in_a_log_that_verifies(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path
) -> None:
    serve(mockweb)

    result = crawl(
        [GALLERY],
        {"POLITE_CRAWL_PURPOSES": ["facial-recognition"], "IMAGES_STORE": str(tmp_path / "i")},
        spider=IMAGES_SPIDER,
    )

    assert result.returncode == 0, result.log
    assert "3 discarded after the fetch" in result.log
    proc = run_cli("audit", "verify", str(tmp_path / "crawl0" / "audit"))
    assert proc.returncode == 0, proc.stderr
