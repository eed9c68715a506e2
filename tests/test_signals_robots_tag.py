"""X-Robots-Tag and robots meta tags: parsing and what each directive forbids."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polite_crawl.core.purposes import Kind, Purpose
from polite_crawl.signals.mapping import UNREADABLE_HEAD, forbidden
from polite_crawl.signals.meta import MAX_TAGS, head_metas
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


ROBOTS = frozenset({"robots"})
NOAI = b'<meta name="robots" content="noai">'
LIMIT = 4096
PAST = b"x" * LIMIT  # what takes a page past the limit


@pytest.mark.parametrize(
    ("html", "complete"),
    [
        (b"<html><head>" + NOAI + b"<script>" + b"x" * 3000 + b"</script></head>", True),
        (b"<html><head>" + NOAI + b"</head><body>" + PAST, True),
        (b"<html><head>" + NOAI + b"<BODY class=x>" + PAST, True),  # <head> ended by <body>
        (NOAI + b"<p>no head or body tags" + PAST, False),  # nothing says the head ended
        (b"<head><script>" + PAST + b"</script>" + NOAI + b"</head>", False),
        (b"<head><script>'</head><body>'" + PAST + b"</script></head>", False),  # in a string
        (b"<head><!-- </head> <body> " + PAST + b"--></head>", False),  # in a comment
        (b"<head><style>body{}</style><title><body></title></head>" + PAST, True),
        (b"<head><noscript><body></noscript>" + PAST, False),
        (b"<head><script>x</scripts></head>" + PAST, False),  # not the script's end
        (b"<head><bodyx></head>" + PAST, True),
        (b"<head></headx><bodyx>" + PAST, False),
    ],
)
def test_whether_the_whole_head_was_read(html: bytes, complete: bool) -> None:
    assert head_metas(html, ROBOTS, LIMIT).complete is complete


def test_a_meta_tag_anywhere_within_the_limit_counts() -> None:
    html = b"<head></head><body>" + NOAI + PAST

    found = head_metas(html, ROBOTS, LIMIT)

    assert found == ([("robots", "noai")], True)


def test_a_meta_tag_past_the_limit_is_not_read_and_the_head_is_unread() -> None:
    html = b"<head><script>" + b"x" * LIMIT + b"</script>" + NOAI + b"</head>"

    assert head_metas(html, ROBOTS, LIMIT) == ([], False)
    assert head_metas(html, ROBOTS, len(html)) == ([("robots", "noai")], True)


def test_more_meta_tags_than_read_leave_the_head_unread_unless_it_ended() -> None:
    tags = b"<meta itemprop=price content=1>" * (MAX_TAGS + 1)
    in_head = b"<head>" + tags + NOAI + b"</head>"
    in_body = b"<head>" + NOAI + b"</head><body>" + tags  # microdata in a long body

    assert head_metas(in_head, ROBOTS, len(in_head)).complete is False
    assert head_metas(in_body, ROBOTS, len(in_body)) == ([("robots", "noai")], True)


def test_an_unreadable_head_refuses_what_any_page_signal_could() -> None:
    every = frozenset(Purpose)
    refused = {p for _, p in forbidden(frozenset({UNREADABLE_HEAD}), every, Kind.IMAGE)}
    on_page = {p for _, p in forbidden(frozenset({UNREADABLE_HEAD}), every, Kind.PAGE)}

    assert refused == on_page == every - {Purpose.ARCHIVING}
    # No header or meta tag can say it: the directive parser never yields a name with a colon.
    assert UNREADABLE_HEAD not in directives([UNREADABLE_HEAD, "HEAD:UNREADABLE"], TOKEN)


@given(st.binary(max_size=4096), st.integers(1, 5000))
def test_any_html_bytes_scan(html: bytes, limit: int) -> None:
    complete = head_metas(html, ROBOTS, limit).complete
    assert complete or len(html) > limit


@given(
    st.lists(
        st.sampled_from(
            [
                b"<head>",
                b"</head>",
                b"<body>",
                b"<script>",
                b"</script>",
                b"<!--",
                b"-->",
                b"<style>",
                b"</style>",
                b"<title>",
                b"</title>",
                b"<meta name=robots content=noai>",
                b"<meta ",
                b">",
                b"x" * 50,
                b"'",
                b'"',
            ]
        ),
        max_size=60,
    ),
    st.integers(1, 3000),
)
def test_markup_soup_scans(parts: list[bytes], limit: int) -> None:
    html = b"".join(parts)
    found = head_metas(html, ROBOTS, limit)
    # Reading more of the page never finds fewer tags.
    assert len(head_metas(html, ROBOTS, limit + 100).metas) >= len(found.metas)


@pytest.mark.parametrize(
    "unit", [b"<meta ", b"<meta>", b"<meta name=robots content=noai>", b"<!--", b"<script>", b"<"]
)
def test_pathological_heads_do_not_hang(unit: bytes) -> None:
    limit = 2 * 1024 * 1024  # the default limit
    html = unit * (limit // len(unit) + 2)

    head_metas(html, ROBOTS, limit)


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
