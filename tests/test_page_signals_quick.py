"""PageSignals reads nothing a page does not send (#21): its answer must be the one the parsers
give when asked about everything, header by header and tag by tag, for any mix of
X-Robots-Tag and tdm-reservation headers, content types and meta tags."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy.http import HtmlResponse, Response, TextResponse

from polite_crawl.shell.links import PageSignals
from polite_crawl.signals.mapping import TDM_RESERVED, UNREADABLE_HEAD
from polite_crawl.signals.meta import head_metas
from polite_crawl.signals.robots_tag import directives
from polite_crawl.signals.tdmrep import TDM_META, header_reservation

TOKEN = "examplebot"
LIMIT = 400

ROBOTS = st.sampled_from(
    [
        "noai",
        "noimageai",
        "nofollow",
        "none",
        "examplebot: noindex",
        "otherbot: noai",
        "",
        "NOAI, noimageai",
    ]
)
TDM = st.sampled_from(["1", "0", "", "1, 0", "x"])
CONTENT_TYPES = st.none() | st.lists(
    st.sampled_from(["", "text/html", "text/plain", "application/xhtml+xml"]),
    min_size=1,
    max_size=2,
)
METAS = st.lists(
    st.tuples(
        st.sampled_from(["robots", "examplebot", "tdm-reservation", "viewport"]),
        st.sampled_from(["noai", "nofollow", "1", "0", "width=device-width"]),
    ),
    max_size=4,
)


def _expected(response: Response) -> tuple[frozenset[str], bool]:
    """Every parser asked, whatever the page sends (the code before #21's quick paths)."""
    found = directives(
        [v.decode("latin-1") for v in response.headers.getlist(b"X-Robots-Tag")], TOKEN
    )
    tdm = header_reservation(
        v.decode("latin-1") for v in response.headers.getlist(b"tdm-reservation")
    )
    unread = False
    if (
        isinstance(response, TextResponse)
        and b"html" in (response.headers.get(b"Content-Type") or b"html").lower()
    ):
        names = frozenset({"robots", TOKEN, TDM_META})
        metas, complete = head_metas(response.body, names, LIMIT)
        found |= directives([c for n, c in metas if n != TDM_META], TOKEN)
        if not complete:
            unread = True
            found |= {UNREADABLE_HEAD}
        in_page = header_reservation(c for n, c in metas if n == TDM_META)
        tdm = tdm if in_page is None else in_page
    return (found | {TDM_RESERVED} if tdm else found), unread


@settings(max_examples=300, deadline=None)
@given(
    st.lists(ROBOTS, max_size=3),
    st.lists(TDM, max_size=2),
    CONTENT_TYPES,
    METAS,
    st.booleans(),
    st.integers(0, 600),
)
def test_quick_reading_answers_as_the_full_one(
    robots: list[str],
    tdm: list[str],
    content_type: list[str] | None,
    metas: list[tuple[str, str]],
    html: bool,
    padding: int,
) -> None:
    headers: dict[str, list[str]] = {}
    if robots:
        headers["X-Robots-Tag"] = robots
    if tdm:
        headers["TDM-Reservation"] = tdm
    if content_type is not None:
        headers["Content-Type"] = content_type  # several: Headers.get() reads the last
    tags = "".join(f'<meta name="{n}" content="{c}">' for n, c in metas)
    body = f"<html><head>{'x' * padding}{tags}</head><body></body></html>".encode()
    cls = HtmlResponse if html else Response
    response = cls("http://site.test/p", body=body, headers=headers)
    page = PageSignals(response, TOKEN, LIMIT)
    assert (page.directives, page.head_unread) == _expected(response)
