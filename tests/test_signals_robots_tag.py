"""X-Robots-Tag and robots meta tags: parsing and what each directive forbids."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polite_crawl.core.context import Kind, Purpose
from polite_crawl.signals.mapping import forbidden
from polite_crawl.signals.robots_tag import directives, meta_directives

TOKEN = "examplebot"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["noai"], {"noai"}),
        (["NoAI, NOIMAGEAI"], {"noai", "noimageai"}),  # case-insensitive
        (["noindex", "noimageai"], {"noindex", "noimageai"}),  # every header instance
        (["examplebot: noai"], {"noai"}),
        (["otherbot: noai"], set()),  # scoped to another crawler
        (["otherbot: noai, noindex"], set()),  # the scope covers the whole list
        (["ExampleBot: noimageai", "otherbot: noindex"], {"noimageai"}),
        (["none"], {"none", "noindex", "nofollow"}),
        (["unavailable_after: 25 Jun 2030 15:00:00 PST, noai"], {"unavailable_after", "noai"}),
        ([" , ,noai,, "], {"noai"}),
        ([""], set()),
    ],
)
def test_x_robots_tag(headers: list[str], expected: set[str]) -> None:
    assert directives(headers, TOKEN) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (b'<meta name="robots" content="noai, noimageai">', {"noai", "noimageai"}),
        (b"<META NAME='ROBOTS' CONTENT='NoImageAI'>", {"noimageai"}),
        (b'<meta content="noindex" name="examplebot">', {"noindex"}),  # our token
        (b'<meta name="otherbot" content="noindex">', set()),
        (b"<meta name=robots content=noai>", {"noai"}),  # unquoted attributes
        (b'<meta name="description" content="noai is a word">', set()),
        (b"<html><head><title>no tags</title></head></html>", set()),
    ],
)
def test_meta_robots(html: bytes, expected: set[str]) -> None:
    assert meta_directives(html, TOKEN) == expected


def test_noimageai_forbids_images_for_ai_uses_only() -> None:
    purposes = frozenset(
        {Purpose.SEARCH_INDEXING, Purpose.AI_TRAINING, Purpose.FACIAL_RECOGNITION}
    )

    on_image = forbidden(frozenset({"noimageai"}), purposes, Kind.IMAGE)
    on_page = forbidden(frozenset({"noimageai"}), purposes, Kind.PAGE)

    assert on_image == [
        ("noimageai", Purpose.AI_TRAINING),
        ("noimageai", Purpose.FACIAL_RECOGNITION),
    ]
    assert on_page == []


def test_a_signal_that_does_not_concern_a_purpose_does_not_block_it() -> None:
    search = frozenset({Purpose.SEARCH_INDEXING})

    assert forbidden(frozenset({"noai", "noimageai"}), search, Kind.IMAGE) == []
    assert forbidden(frozenset({"noimageindex"}), search, Kind.IMAGE) == [
        ("noimageindex", Purpose.SEARCH_INDEXING)
    ]


@given(st.lists(st.text(max_size=300), max_size=8), st.text(max_size=20))
def test_any_header_values_parse(values: list[str], token: str) -> None:
    directives(values, token or TOKEN)


@given(st.binary(max_size=4096))
def test_any_html_bytes_parse(html: bytes) -> None:
    meta_directives(html, TOKEN)


def test_pathological_html_does_not_hang() -> None:
    html = b"<meta " + b"a=" * 200_000 + b"<meta name=robots content=noai>" * 1000

    meta_directives(html, TOKEN)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["content-signal", "content-usage", "x"]),
            st.text(max_size=200),
            st.integers(1, 99),
        ),
        max_size=6,
    ),
    st.text(max_size=50),
)
def test_any_content_signal_lines_parse(lines: list[tuple[str, str, int]], path: str) -> None:
    from polite_crawl.signals.content_signal import refusals

    refusals(lines, "/" + path, frozenset(Purpose))


def test_content_signal_values() -> None:
    from polite_crawl.signals.content_signal import refusals

    lines = [("content-signal", "search=yes, ai-input=NO, ai-train=maybe", 3)]
    found = refusals(lines, "/", frozenset(Purpose))

    assert [(r.category, r.purpose.value) for r in found] == [
        ("ai-input", "ai-input"),
        ("ai-input", "facial-recognition"),
    ]
