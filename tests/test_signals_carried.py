"""What a page said, carried in a request's meta (signals/carried.py): read back exactly as
written, bound to its URL, and read as "unknown, so everything" when it is anything else."""

from __future__ import annotations

from typing import Any

import pytest

from polite_crawl.core.purposes import Kind
from polite_crawl.signals.carried import combined, from_meta, to_meta
from polite_crawl.signals.mapping import UNREADABLE_HEAD
from polite_crawl.signals.memory import Inherited

URL = "http://img.test/a b.png"
SAID = Inherited(frozenset({"noimageai"}), Kind.IMAGE, "http://a.test/", frozenset({"noai"}))


def test_round_trip_through_meta() -> None:
    assert from_meta(to_meta(URL, SAID), URL) == SAID
    assert combined(None, to_meta(URL, SAID), URL) == SAID


def test_the_same_resource_written_another_way_keeps_it() -> None:
    assert combined(None, to_meta(URL, SAID), "http://IMG.test:80/a%20b.png#x") == SAID


def test_data_about_another_url_does_not_apply() -> None:
    # A spider that passes response.meta on to the requests it yields copies it along.
    assert combined(None, to_meta("http://img.test/other.png", SAID), URL) is None


def test_memory_and_carried_data_add_up() -> None:
    remembered = Inherited(frozenset({"noai"}), Kind.PAGE, "http://b.test/")
    both = combined(remembered, to_meta(URL, SAID), URL)
    assert both is not None
    assert both.directives == {"noai", "noimageai"}
    assert both.kind is Kind.IMAGE


@pytest.mark.parametrize(
    "value",
    [
        "noimageai",
        {"url": None},
        {**to_meta(URL, SAID), "directives": "noimageai"},
        {**to_meta(URL, SAID), "directives": [1]},
        {**to_meta(URL, SAID), "kind": "video"},
        {**to_meta(URL, SAID), "page": None},
        {**to_meta(URL, SAID), "extra": 1},
        {**to_meta(URL, SAID), "linked": ["x"] * 65},
    ],
)
def test_anything_else_reads_as_a_page_whose_signals_are_unknown(value: Any) -> None:
    got = from_meta(value, URL)
    assert got.directives == {UNREADABLE_HEAD}
    assert got.kind is Kind.IMAGE
