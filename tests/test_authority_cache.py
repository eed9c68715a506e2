"""core/authority.py: an answer remembered per authority key is the answer urlsplit would give
for every URL under that key (platform_of and paced_host rely on it, #21)."""

from __future__ import annotations

from urllib.parse import urlsplit

from hypothesis import given
from hypothesis import strategies as st

from polite_crawl.core.authority import authority_key, by_authority

# URLs built from the characters that move urlsplit's boundaries.
_PIECES = st.sampled_from(
    [
        "http:",
        "https:",
        "//",
        "/",
        "?",
        "#",
        "@",
        ":",
        "a",
        "B.",
        "x.test",
        "8080",
        "[::1]",
        "%2F",
        "\t",
        " ",
        "mailto:",
        "data:",
        ".",
        "\\",
        "evil.com",
        "user:pw",
    ]
)
URLS = st.lists(_PIECES, max_size=10).map("".join)


def _read(url: str) -> tuple[str, str | None, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.netloc


@given(URLS, URLS)
def test_urls_under_one_key_read_the_same(url: str, other: str) -> None:
    # Two URLs with one key (the second made from the first's key, plus anything) have the same
    # scheme and authority as urlsplit reads them.
    key = authority_key(url)
    assert url.startswith(key)
    sibling = key + other
    if authority_key(sibling) == key:
        assert _read(sibling)[:2] == _read(url)[:2]


def test_answers_once_per_authority_and_forgets_at_the_limit() -> None:
    asked: list[str] = []

    def host(url: str) -> str | None:
        asked.append(url)
        return urlsplit(url).hostname

    lookup = by_authority(host, limit=2)
    assert lookup("http://a.test/1") == "a.test"
    assert lookup("http://a.test/2?x") == "a.test"
    assert lookup("http://a.test?q=/2") == "a.test"  # another key: the authority ends at "?"
    assert lookup("http://b.test:81/") == "b.test"
    assert asked == ["http://a.test/1", "http://a.test?q=/2", "http://b.test:81/"]
    assert lookup("http://a.test/3") == "a.test"  # the cache started again at its limit
    assert asked[-1] == "http://a.test/3"


def test_userinfo_and_ports_are_part_of_the_key() -> None:
    assert authority_key("http://user@evil.test@site.test/x") == "http://user@evil.test@site.test/"
    assert authority_key("http://site.test:8080/x") != authority_key("http://site.test/x")
    assert authority_key("no-slashes") == "no-slashes"
