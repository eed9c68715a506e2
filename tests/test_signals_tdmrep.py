"""TDMRep parsing (tdmrep.json, headers, meta tags): the first-match rule, protocol errors read
as unset, and no crash or hang on any bytes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polite_crawl.robots.rules import normalize
from polite_crawl.signals.tdmrep import (
    MAX_RULES,
    header_reservation,
    meta_reservation,
    read_tdmrep,
    reservation,
)

LIMIT = 512 * 1024


def answer(rules: object, path: str) -> tuple[bool, int | None]:
    doc = read_tdmrep(json.dumps(rules).encode(), LIMIT).doc
    found = doc.answer(path)
    return found.reserved, found.rule.index if found.rule else None


def test_the_first_matching_rule_wins_not_the_longest() -> None:
    rules = [
        {"location": "/a", "tdm-reservation": 0},
        {"location": "/a/b", "tdm-reservation": 1},
    ]
    assert answer(rules, "/a/b/c") == (False, 0)
    assert answer(list(reversed(rules)), "/a/b/c") == (True, 0)


def test_patterns_are_robots_style() -> None:
    rules = [
        {"location": "/*.jpg$", "tdm-reservation": 1},
        {"location": "/gallery/", "tdm-reservation": 1},
    ]
    assert answer(rules, "/x/y.jpg") == (True, 0)
    assert answer(rules, "/x/y.jpg?size=2") == (False, None)
    assert answer(rules, "/gallery/1") == (True, 1)
    assert answer(rules, "/blog/1") == (False, None)


def test_no_match_is_unset() -> None:
    assert answer([{"location": "/private", "tdm-reservation": 1}], "/public") == (False, None)
    assert answer([], "/") == (False, None)


@pytest.mark.parametrize(
    "value", [2, -1, "yes", None, True, False, 1.5, 0.0, 1.0, "0", "1", [1], {"x": 1}]
)
def test_other_values_are_protocol_errors_and_the_rule_says_nothing(value: object) -> None:
    rules = [
        {"location": "/", "tdm-reservation": value},
        {"location": "/", "tdm-reservation": 1},
    ]
    assert answer(rules, "/x") == (True, 1)  # an invalid rule cannot lift a later reservation
    doc = read_tdmrep(json.dumps(rules).encode(), LIMIT).doc
    assert doc.ignored == 1


def test_a_policy_url_is_kept_for_the_evidence() -> None:
    rules = [{"location": "/", "tdm-reservation": 1, "tdm-policy": "https://x.test/policy.json"}]
    doc = read_tdmrep(json.dumps(rules).encode(), LIMIT).doc
    found = doc.answer("/")
    assert found.rule is not None
    assert found.rule.policy == "https://x.test/policy.json"


def test_a_dot_segment_cannot_step_around_a_reservation() -> None:
    rules = [{"location": "/private/", "tdm-reservation": 1}]
    assert answer(rules, "/public/../private/x")[0]


@pytest.mark.parametrize(
    "body", [b"<!doctype html><title>Not found</title>", b"", b"   ", b"User-agent: *"]
)
def test_a_body_that_is_not_json_at_all_is_no_file(body: bytes) -> None:
    doc = read_tdmrep(body, LIMIT).doc
    assert doc.error is None
    assert not doc.answer("/anything").reserved


@pytest.mark.parametrize(
    "body",
    [
        b'[{"location": "/", "tdm-reservation": 1},]',  # a trailing comma: broken JSON
        b'{"location": "/", "tdm-reservation": 0}',  # an object, not an array
        b"[" * 100_000,  # nested past the parser's recursion limit
    ],
)
def test_broken_json_reserves_the_whole_origin(body: bytes) -> None:
    doc = read_tdmrep(body, LIMIT).doc
    found = doc.answer("/anything")
    assert found.reserved
    assert found.error


def test_a_file_over_the_limit_reserves_the_whole_origin() -> None:
    body = json.dumps([{"location": f"/p{i}", "tdm-reservation": 0} for i in range(100)])
    read = read_tdmrep(body.encode(), 100)
    assert read.truncated
    assert read.doc.answer("/p1").reserved


def test_a_bom_is_allowed() -> None:
    body = b"\xef\xbb\xbf" + json.dumps([{"location": "/", "tdm-reservation": 1}]).encode()
    assert read_tdmrep(body, LIMIT).doc.answer("/").reserved


def test_reservation_values() -> None:
    assert reservation(1) is True
    assert reservation(0) is False
    for value in (True, False, 1.0, 0.0, "1", "0", "true"):  # JSON integers only
        assert reservation(value) is None


def test_rules_past_the_cap_cannot_hide_a_reservation() -> None:
    rules = [{"location": f"/a{i}", "tdm-reservation": 0} for i in range(MAX_RULES)]
    rules.append({"location": "/", "tdm-reservation": 1})
    found = read_tdmrep(json.dumps(rules).encode(), LIMIT).doc.answer("/private")
    assert found.reserved
    assert found.error == f"more than {MAX_RULES} rules"


@pytest.mark.parametrize("codec", ["utf-16", "utf-32"])
def test_a_file_in_utf16_or_utf32_with_its_bom_is_read(codec: str) -> None:
    body = json.dumps([{"location": "/private/", "tdm-reservation": 1}]).encode(codec)
    doc = read_tdmrep(body, LIMIT).doc
    assert doc.answer("/private/x").reserved
    assert not doc.answer("/public").reserved


def test_headers_every_instance_counts() -> None:
    assert header_reservation(["0", "1"]) is True
    assert header_reservation(["1, 1"]) is True  # instances a proxy merged
    assert header_reservation([" 0 "]) is False
    assert header_reservation(["maybe"]) is None
    assert header_reservation([]) is None


def test_meta_tags() -> None:
    html = b'<html><head><META NAME="TDM-Reservation" content="1"></head></html>'
    assert meta_reservation(html) is True
    assert meta_reservation(b'<meta name="tdm-reservation" content="0">') is False
    assert meta_reservation(b'<meta name="robots" content="1">') is None


@given(st.binary(max_size=4096), st.text(max_size=64))
def test_any_bytes_read_without_crashing(body: bytes, path: str) -> None:
    doc = read_tdmrep(body, 2048).doc
    doc.answer("/" + path)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
_rule = st.fixed_dictionaries(
    {"location": st.text(alphabet="/*$ab%.", max_size=12) | _json, "tdm-reservation": _json},
    optional={"tdm-policy": _json},
)


@given(st.lists(_rule | _json, max_size=12), st.text(alphabet="ab*$%?", max_size=24))
def test_any_json_shape_reads_and_the_first_valid_match_answers(
    rules: list[object], path: str
) -> None:
    doc = read_tdmrep(json.dumps(rules).encode(), LIMIT).doc
    path = "/" + path  # one slash, no dot segment: the path has a single reading
    found = doc.answer(path)
    first = next((r for r in doc.rules if r.pattern.matches(normalize(path))), None)
    assert found.rule == first
    assert found.reserved == (first is not None and first.reserved)


@given(st.lists(st.text(max_size=40), max_size=6), st.binary(max_size=4096))
def test_headers_and_meta_never_crash(values: list[str], html: bytes) -> None:
    header_reservation(values)
    meta_reservation(html)
