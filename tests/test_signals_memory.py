"""The key under which a page's signals are remembered is the key under which the gate looks
them up, however the request for the resource was written (issue #13, item 1)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scrapy import Request
from scrapy.http import HtmlResponse

from polite_crawl.core.purposes import Kind
from polite_crawl.signals.memory import Inherited, SignalMemory, url_key

PAGE = HtmlResponse("http://art.test/gallery/", body=b"<html></html>", encoding="utf-8")
SIGNALS = Inherited(frozenset({"noimageai"}), Kind.IMAGE, "http://art.test/gallery/")


@pytest.mark.parametrize(
    ("written", "requested"),
    [
        ("/img/a b.jpg", "http://art.test/img/a%20b.jpg"),
        (" /img/ws.jpg ", "http://art.test/img/ws.jpg"),
        ("\t/img/tab.jpg\n", "http://art.test/img/tab.jpg"),
        ("/img/café.jpg", "http://art.test/img/caf%C3%A9.jpg"),
        ("/img/caf%c3%a9.jpg", "http://art.test/img/caf%C3%A9.jpg"),
        ("/img/%61.jpg", "http://art.test/img/a.jpg"),
        ("/img/q.jpg?b=1&a=2", "http://art.test/img/q.jpg?a=2&b=1"),
        ("/img/frag.jpg#top", "http://art.test/img/frag.jpg"),
        ("HTTP://ART.TEST:80/img/up.jpg", "http://art.test/img/up.jpg"),
        ("https://art.test:443/img/s.jpg", "https://art.test/img/s.jpg#x"),
        ("//art.test/img/../img/dots.jpg", "http://art.test/img/dots.jpg"),
        ("http://café.test/x.jpg", "http://xn--caf-dma.test/x.jpg"),
    ],
)
def test_a_source_and_the_request_made_of_it_share_one_key(written: str, requested: str) -> None:
    memory = SignalMemory()
    memory.remember(PAGE.urljoin(written), SIGNALS)

    assert memory.lookup(requested) == SIGNALS
    assert memory.lookup(Request(PAGE.urljoin(written)).url) == SIGNALS
    assert memory.lookup(PAGE.follow(written).url) == SIGNALS


def test_other_resources_do_not_share_it() -> None:
    memory = SignalMemory()
    memory.remember("http://art.test/img/a.jpg", SIGNALS)

    for other in (
        "http://art.test/img/A.jpg",  # paths are case-sensitive
        "http://art.test/img/a.jpg?x=1",
        "https://art.test/img/a.jpg",
        "http://art.test:8080/img/a.jpg",
        "http://other.test/img/a.jpg",
    ):
        assert memory.lookup(other) is None, other


URL_TEXT = st.text(
    st.one_of(
        st.sampled_from(list(" \t\n/?#&=%.:;@+,'\"<>[]\\^`{|}~")),
        st.characters(codec="utf-8"),
    ),
    max_size=40,
)


@given(URL_TEXT)
def test_any_source_and_the_request_made_of_it_share_one_key(written: str) -> None:
    joined = PAGE.urljoin(written)
    try:
        requested = Request(joined).url
    except ValueError:
        assume(False)  # no request can be made of it: nothing to look up
    key = url_key(joined)

    assert url_key(requested) == key
    assert url_key(PAGE.follow(written).url) == key
    assert url_key(key) == key  # a key is its own key


@given(st.text(max_size=200))
def test_url_key_never_raises(text: str) -> None:
    url_key(text)
    url_key("http://" + text)
