"""Property tests: robots.txt is untrusted input. No bytes crash or hang the parser, and the
matcher agrees with a plain reference implementation of RFC 9309 §2.2.2."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from polite_crawl.robots import rules as rules_module
from polite_crawl.robots.parser import parse
from polite_crawl.robots.rules import Rules, normalize, path_variants

LINES = st.sampled_from(
    [
        "User-agent: *",
        "User-agent: examplebot",
        "User-agent: other",
        "Allow: /",
        "Disallow: /",
        "Disallow: /a",
        "Allow: /a/b",
        "Disallow: /*.gif$",
        "Disallow: /a*b",
        "Crawl-delay: 5",
        "Sitemap: http://x/s.xml",
        "",
        "# comment",
        "Disallow:",
        "user-agent: EXAMPLEBOT/2",
    ]
)


@given(st.binary(max_size=4096))
def test_any_bytes_parse(body: bytes) -> None:
    robots = parse(body)
    Rules(robots, "examplebot").match("http://site.test/a/b?c")


@given(st.text(max_size=2000))
def test_any_text_parses(text: str) -> None:
    robots = parse(text.encode("utf-8", "surrogatepass"))
    Rules(robots, "examplebot").match("http://site.test/%E2%82%AC")


def test_pathological_wildcards_do_not_hang() -> None:
    body = ("User-agent: *\nDisallow: /" + "*a" * 2000 + "b\n").encode()
    rules = Rules(parse(body), "examplebot")

    assert rules.match("http://site.test/" + "a" * 5000).allowed


PATTERN = st.text(alphabet="/ab*$", min_size=1, max_size=8).map(lambda p: "/" + p.lstrip("/"))
PATH = st.text(alphabet="/ab.", max_size=10).map(lambda p: "/" + p)


def reference(rules: list[tuple[bool, str]], path: str) -> bool:
    """RFC 9309 §2.2.2 as written: longest matching pattern wins, allow wins ties."""
    best: tuple[int, bool] | None = None
    for allow, pattern in rules:
        anchored = pattern.endswith("$")
        body = pattern[:-1] if anchored else pattern
        regex = "".join(".*" if c == "*" else re.escape(c) for c in body)
        if re.fullmatch(regex + ("" if anchored else ".*"), path, re.DOTALL):
            key = (len(pattern), allow)
            if best is None or key > best:
                best = key
    return True if best is None else best[1]


# Twice the profile's examples: the rule sets and paths are drawn from a wide space.
@settings(max_examples=2 * settings().max_examples)
@given(st.lists(st.tuples(st.booleans(), PATTERN), max_size=6), PATH)
def test_matcher_agrees_with_the_reference(rules: list[tuple[bool, str]], path: str) -> None:
    text = "User-agent: *\n" + "".join(
        f"{'Allow' if allow else 'Disallow'}: {pattern}\n" for allow, pattern in rules
    )
    # A path is allowed only if every reading of it is: as sent, and as a server resolves it.
    expected = all(
        True if variant == "/robots.txt" else reference(rules, normalize(variant))
        for variant in path_variants(path)
    )

    assert (
        Rules(parse(text.encode()), "examplebot").match("http://site.test" + path).allowed
        is expected
    )


@given(st.text(alphabet="/ab.%2eE?", max_size=14))
def test_the_quick_path_reading_agrees_with_the_full_one(path: str) -> None:
    # path_variants answers most paths without resolving them; the full resolution
    # (_resolved_variants) must give the same for every path, the quick ones included.
    assert path_variants(path) == rules_module._resolved_variants.__wrapped__(path)
