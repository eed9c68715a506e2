"""Our robots.txt verdicts (polite_crawl/robots/) against Protego's, Scrapy's own parser.

Protego is the oracle on input both should read the same way: the generator below writes
robots.txt files and paths from pieces on which RFC 9309 and the two implementations agree.
Every kind of input where they legitimately differ is named in DIFFERENCES, kept out of the
generator, and listed in docs/robots.md ("Differences from Protego") with the RFC section that
decides it. Each entry carries an example that must still split the two the way it says, so the
list cannot go stale when either side changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from protego import Protego

from polite_crawl.robots.parser import parse
from polite_crawl.robots.rules import Rules

TOKEN = "examplebot"
SITE = "http://site.test"


def our_verdict(robots: str, url: str) -> str:
    return _verdict(Rules(parse(robots.encode()), TOKEN).match(url).allowed)


def protegos_verdict(robots: str, url: str) -> str:
    return _verdict(Protego.parse(robots).can_fetch(url, TOKEN))


def _verdict(allowed: bool) -> str:
    return "allow" if allowed else "deny"


class Difference(NamedTuple):
    name: str  # as in the table of docs/robots.md
    robots: str
    path: str
    ours: str  # our verdict: "allow" or "deny"
    protego: str  # Protego's


A = "User-agent: *\n"
DIFFERENCES = [
    # Group selection (RFC 9309 §2.2.1).
    Difference(
        name="a group named by a prefix of our token",
        robots="User-agent: example\nDisallow: /\n",
        path="/x",
        ours="allow",
        protego="deny",
    ),
    Difference(
        name="a user-agent value that is more than a product token",
        robots="User-agent: ExampleBot/1.0\nDisallow: /\n",
        path="/x",
        ours="deny",
        protego="allow",
    ),
    Difference(
        name="a user-agent value that starts with `*`",
        robots="User-agent: *bot\nDisallow: /\n",
        path="/x",
        ours="deny",
        protego="allow",
    ),
    # Lines (§2.2, §2.2.4).
    Difference(
        name="a two-word key without its colon",
        robots="User agent examplebot\nDisallow: /\n",
        path="/x",
        ours="allow",
        protego="deny",
    ),
    Difference(
        name="a key without its colon whose value holds one",
        robots=f"{A}Disallow /a:b\n",
        path="/a:b",
        ours="allow",
        protego="deny",
    ),
    Difference(
        name="a key and value parted by a tab alone",
        robots=f"{A}Disallow\t/x\n",
        path="/x",
        ours="allow",
        protego="deny",
    ),
    Difference(
        name="`Host` or `Sitemaps` between user-agent lines",
        robots="User-agent: examplebot\nHost: site.test\nUser-agent: otherbot\nDisallow: /\n",
        path="/x",
        ours="allow",
        protego="deny",
    ),
    Difference(
        name="a byte order mark",
        robots=f"\ufeff{A}Disallow: /\n",
        path="/x",
        ours="deny",
        protego="allow",
    ),
    # Patterns (§2.2.2, §2.2.3).
    Difference(
        name="a pattern that starts with neither `/` nor `*`",
        robots=f"{A}Disallow: x\n",
        path="/x",
        ours="deny",
        protego="allow",
    ),
    Difference(
        name="a reserved character other than `/` in a pattern, raw or encoded",
        robots=f"{A}Disallow: /wiki/Special:\n",
        path="/wiki/Special%3ASearch",
        ours="allow",
        protego="deny",
    ),
    Difference(
        name="a character a URL may not hold raw (space, `{`, `^`...) in a pattern",
        robots=f"{A}Disallow: /my page\n",
        path="/my%20page",
        ours="allow",
        protego="deny",
    ),
    Difference(
        name="a `$` that does not end the pattern, or one in the path",
        robots=f"{A}Disallow: /a$\n",
        path="/a$b",
        ours="allow",
        protego="deny",
    ),
    Difference(
        name="an `Allow` ending in `/index.html`",
        robots=f"{A}Disallow: /x/\nAllow: /x/index.html\n",
        path="/x/",
        ours="deny",
        protego="allow",
    ),
    # Paths (§2.2.2).
    Difference(
        name="a percent-encoded octet that is not UTF-8",
        robots=f"{A}Disallow: /%FF\n",
        path="/%FE",
        ours="allow",
        protego="deny",
    ),
    Difference(
        name="dot segments or empty segments in the path",
        robots=f"{A}Disallow: /private\n",
        path="/public/../private",
        ours="deny",
        protego="allow",
    ),
    Difference(
        name="an empty query (a bare `?`)",
        robots=f"{A}Disallow: /x?\n",
        path="/x?",
        ours="allow",
        protego="deny",
    ),
    Difference(
        name="`/robots.txt` with a query, or percent-encoded",
        robots=f"{A}Disallow: /\n",
        path="/robots.txt?x",
        ours="deny",
        protego="allow",
    ),
]


@pytest.mark.parametrize("difference", DIFFERENCES, ids=lambda d: d.name)
def test_each_difference_is_real(difference: Difference) -> None:
    url = SITE + difference.path
    expected = (difference.ours, difference.protego)

    assert expected == (
        our_verdict(difference.robots, url),
        protegos_verdict(difference.robots, url),
    )


def test_every_difference_is_in_the_robots_docs() -> None:
    text = (Path(__file__).parents[1] / "docs" / "robots.md").read_text(encoding="utf-8")
    table = text.split("## Differences from Protego", 1)[1].split("\n## ", 1)[0]

    assert [d.name for d in DIFFERENCES if f"| {d.name} |" not in table] == []


# --- the generator: only pieces both read the same way ------------------------------------------
# Each comment names the DIFFERENCES a constant keeps out.

# Exact product tokens, `*`, and nothing at all. Not "a group named by a prefix of our token",
# "a user-agent value that is more than a product token" or "... that starts with `*`".
AGENTS = ["*", "examplebot", "ExampleBot", "EXAMPLEBOT", "otherbot", "examplebot-news", "bot", ""]
USER_AGENT_KEYS = ["User-agent", "user-agent", "USER-AGENT", "useragent", "User agent"]
ALLOW_KEYS = ["Allow", "allow", "ALLOW"]
DISALLOW_KEYS = ["Disallow", "disallow", "DISALLOW", "dissallow", "disalow", "disallaw"]
# A colon, or a space alone: not "a key and value parted by a tab alone". A two-word key always
# gets its colon (_line): not "a two-word key without its colon".
SEPARATORS = [": ", ":", " : ", ":\t", " "]
# Neither a user-agent nor a rule. Not "`Host` or `Sitemaps` between user-agent lines".
OTHER_LINES = [
    "",
    "# a comment",
    "Sitemap: http://site.test/sitemap.xml",
    "Crawl-delay: 2",
    "Content-Signal: ai-train=no",
    "Noindex: /a",
]
# Of paths and patterns: unreserved characters raw or percent-encoded in either case, non-ASCII
# raw or encoded, and an encoded `/` (both keep `%2F` apart from `/`). Not "a reserved
# character other than `/` in a pattern, raw or encoded" (nor "a key without its colon whose
# value holds one"), "a character a URL may not hold raw", "a `$` that does not end the
# pattern, or one in the path", "a percent-encoded octet that is not UTF-8", "an `Allow` ending
# in `/index.html`"; no `%2E`, which would make dot segments.
PIECES = ["a", "b", "B", "-", "_", "~", ".", "é", "%61", "%7E", "%7e", "%C3%A9", "%c3%a9", "%2F"]
# Of a query: both read `?`, `=` and `&` in a path alike as long as no pattern holds one.
QUERY_PIECES = ["a", "b", "=", "&", "/", "%7E", "é"]
# After a group's user-agent lines: rules mostly, other lines, now and then a user-agent line.
LINE_KINDS = "aaddou"


@st.composite
def robots_files(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A file of a few groups, with stray lines (rules before any user-agent line included),
    and the patterns written in it. Text, so never "a byte order mark"."""
    kinds = draw(st.lists(st.sampled_from(LINE_KINDS), max_size=2))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        kinds += "u" * draw(st.integers(min_value=1, max_value=2))
        kinds += draw(st.lists(st.sampled_from(LINE_KINDS), max_size=5))
    lines: list[str] = []
    written: list[str] = []
    for kind in kinds:
        separator = draw(st.sampled_from(SEPARATORS))
        if kind == "u":
            key = draw(st.sampled_from(USER_AGENT_KEYS))
            line = _line(key, separator, draw(st.sampled_from(AGENTS)))
        elif kind == "o":
            line = draw(st.sampled_from(OTHER_LINES))
        else:
            key = draw(st.sampled_from(ALLOW_KEYS if kind == "a" else DISALLOW_KEYS))
            pattern = draw(st.one_of(st.just(""), patterns()))
            written.append(pattern)
            line = _line(key, separator, pattern) + draw(st.sampled_from(["", " # n"]))
        lines.append(draw(st.sampled_from(["", " ", "\t"])) + line)
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return "".join(line + end for line in lines), written


def _line(key: str, separator: str, value: str) -> str:
    if separator == " " and " " in key:
        separator = ":"
    return f"{key}{separator}{value}"


@st.composite
def patterns(draw: st.DrawFn) -> str:
    """From `/` or `*`: not "a pattern that starts with neither `/` nor `*`"."""
    start = draw(st.sampled_from(["/", "*"]))
    body = "".join(draw(st.lists(st.sampled_from([*PIECES, "/", "*"]), max_size=4)))
    return start + body + draw(st.sampled_from(["", "", "$"]))


@st.composite
def paths(draw: st.DrawFn, written: list[str]) -> str:
    """Half of them near a pattern of the file, so that rules match and compete. Not "dot
    segments or empty segments in the path", "an empty query (a bare `?`)" or "`/robots.txt`
    with a query, or percent-encoded"."""
    if draw(st.booleans()) and written:
        # The pattern with its wildcards filled in, and maybe more after it.
        first, *rest = draw(st.sampled_from(written)).removesuffix("$").split("*")
        path = first + "".join(_pieces(draw, PIECES) + part for part in rest)
        path = (path if path.startswith("/") else "/" + path) + _pieces(draw, [*PIECES, "/"])
    else:
        segments = draw(st.lists(st.sampled_from([*PIECES, "robots.txt"]), max_size=4))
        path = "/" + "/".join(segments) + draw(st.sampled_from(["", "/"]))
    if path != "/robots.txt" and draw(st.booleans()):
        path += "?" + "".join(draw(st.lists(st.sampled_from(QUERY_PIECES), min_size=1)))
    assume(_is_plain_path(path))
    return path


def _pieces(draw: st.DrawFn, pieces: list[str]) -> str:
    return "".join(draw(st.lists(st.sampled_from(pieces), max_size=2)))


def _is_plain_path(path: str) -> bool:
    """Read the same as sent and as a server resolves it: no dot segment, no empty one."""
    segments = path.partition("?")[0].split("/")
    inner = segments[1:-1] if segments[-1] == "" else segments[1:]  # a final `/` is fine
    return segments[0] == "" and all(segment not in ("", ".", "..") for segment in inner)


@settings(derandomize=True)  # the same examples on every run and in every xdist worker
@given(st.data())
def test_our_verdict_is_protegos(data: st.DataObject) -> None:
    robots, written = data.draw(robots_files(), label="robots")
    url = SITE + data.draw(paths(written), label="path")

    assert our_verdict(robots, url) == protegos_verdict(robots, url)
