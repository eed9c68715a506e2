"""RFC 9309 parsing and matching, clause by clause (see docs/robots.md for the table)."""

from __future__ import annotations

import pytest

from polite_crawl.robots.parser import parse, product_token
from polite_crawl.robots.rules import Rules, normalize


def allowed(robots: str | bytes, url: str, token: str = "examplebot") -> bool:
    body = robots.encode() if isinstance(robots, str) else robots
    return Rules(parse(body), token).match(url).allowed


U = "http://site.test"


@pytest.mark.parametrize(
    ("line", "token"),
    [
        ("examplebot", "examplebot"),
        ("ExampleBot/1.0", "examplebot"),
        ("*", "*"),
        ("example-bot_2", "example-bot_"),
        ("  examplebot  ", "examplebot"),
    ],
)
def test_product_token_of_a_user_agent_line(line: str, token: str) -> None:
    assert product_token(line) == token


def test_group_token_matching_is_exact_and_case_insensitive() -> None:
    robots = "User-agent: EXAMPLEBOT/1.0\nDisallow: /\n"

    assert not allowed(robots, U + "/x", "examplebot")
    assert not allowed(robots, U + "/x", "ExampleBot")


def test_a_shorter_token_group_does_not_apply_to_a_longer_token() -> None:
    # Protego and Scrapy match by substring: `User-agent: example` would catch examplebot.
    robots = "User-agent: example\nDisallow: /\n"

    assert allowed(robots, U + "/x", "examplebot")


def test_a_longer_token_group_does_not_apply_to_a_shorter_token() -> None:
    robots = "User-agent: examplebot-images\nDisallow: /\n"

    assert allowed(robots, U + "/x", "examplebot")


def test_our_group_replaces_the_star_group() -> None:
    robots = "User-agent: *\nDisallow: /\n\nUser-agent: examplebot\nAllow: /\n"

    assert allowed(robots, U + "/x")
    assert not allowed(robots, U + "/x", "otherbot")


def test_groups_for_the_same_token_are_merged() -> None:
    robots = (
        "User-agent: examplebot\nDisallow: /a\n\nUser-agent: other\nDisallow: /\n\n"
        "User-agent: examplebot\nDisallow: /b\n"
    )

    assert not allowed(robots, U + "/a")
    assert not allowed(robots, U + "/b")
    assert allowed(robots, U + "/c")


def test_consecutive_user_agent_lines_share_one_group() -> None:
    robots = "User-agent: otherbot\nUser-agent: examplebot\nDisallow: /private\n"

    assert not allowed(robots, U + "/private/x")


def test_star_groups_merge_when_no_group_names_us() -> None:
    robots = "User-agent: *\nDisallow: /a\n\nUser-agent: *\nDisallow: /b\n"

    assert not allowed(robots, U + "/a")
    assert not allowed(robots, U + "/b")


def test_no_matching_group_allows_everything() -> None:
    assert allowed("User-agent: otherbot\nDisallow: /\n", U + "/x")


@pytest.mark.parametrize(
    ("rules", "path", "expected"),
    [
        ("Disallow: /page\nAllow: /page", "/page", True),  # allow wins a tie
        ("Allow: /page\nDisallow: /page", "/page", True),
        ("Disallow: /\nAllow: /public", "/public/x", True),  # longest match
        ("Allow: /\nDisallow: /private", "/private/x", False),
        ("Disallow: /*.gif$", "/img/a.gif", False),
        ("Disallow: /*.gif$", "/img/a.gif?x=1", True),  # $ anchors the end
        ("Disallow: /a*c", "/abbbc", False),
        ("Disallow: /a*c", "/ab", True),
        ("Disallow: /a*b$", "/abab", False),  # Heritrix misses this one
        ("Disallow: /a*b$", "/aba", True),
        ("Disallow: /*", "/x", False),
        ("Disallow: *x", "/ax", False),
        ("Disallow: /a$", "/a", False),
        ("Disallow: /a$", "/ab", True),
        ("Disallow: /fish*", "/fishheads/yummy.html", False),
        ("Disallow: /fish/", "/fish", True),
        ("Disallow: /*?", "/page?q=1", False),
        ("Disallow: /Fish", "/fish", True),  # paths are case-sensitive
        ("Disallow:", "/anything", True),  # an empty rule is no rule
        ("Disallow: /", "/robots.txt", True),  # /robots.txt is always allowed
        ("Disallow: /%7Ejoe", "/~joe/x", False),  # unreserved characters compare decoded
        ("Disallow: /~joe", "/%7ejoe/x", False),
        ("Disallow: /caf\u00e9", "/caf%C3%A9", False),  # non-ASCII compares as UTF-8 %XX
        ("Disallow: /a%2fb", "/a%2Fb", False),  # hex digits compare case-insensitively
        ("Disallow: /a%2Fb", "/a/b", True),  # an encoded reserved character stays distinct
    ],
)
def test_matching(rules: str, path: str, expected: bool) -> None:
    assert allowed(f"User-agent: *\n{rules}\n", U + path) is expected


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(newline: str) -> None:
    robots = newline.join(["User-agent: examplebot", "Disallow: /private", ""])

    assert not allowed(robots, U + "/private")


def test_byte_order_mark_is_ignored() -> None:
    assert not allowed(b"\xef\xbb\xbfUser-agent: *\nDisallow: /x\n", U + "/x")


def test_comments_and_unknown_lines_are_ignored() -> None:
    robots = "# hello\nUser-agent: * # all\nFoo: bar\nDisallow: /x # not here\n"

    assert not allowed(robots, U + "/x")
    assert allowed(robots, U + "/y")


def test_rules_before_any_user_agent_belong_to_no_group() -> None:
    assert allowed("Disallow: /\nUser-agent: otherbot\nDisallow: /x\n", U + "/y")


def test_non_utf8_bytes_keep_the_parseable_rules() -> None:
    robots = parse(b"User-agent: *\nDisallow: /caf\xe9\nDisallow: /private\n")

    assert robots.invalid_utf8
    assert not Rules(robots, "examplebot").match(U + "/private").allowed


def test_an_html_soft_404_allows_everything() -> None:
    html = b"<html><body><h1>Not found</h1><p>Sorry: nothing here</p></body></html>"

    assert allowed(html, U + "/x")


def test_parse_limit_keeps_whole_lines_and_never_turns_into_allow_all() -> None:
    head = "User-agent: *\nDisallow: /private\n"
    body = (head + "# padding\n" * 60_000 + "Disallow: /late\n").encode()
    robots = parse(body, limit=512 * 1024)

    assert len(body) > 512 * 1024
    assert robots.truncated
    rules = Rules(robots, "examplebot")
    assert not rules.match(U + "/private").allowed
    assert rules.match(U + "/late").allowed  # beyond the limit: not read


def test_a_rule_cut_by_the_limit_is_dropped_not_shortened() -> None:
    body = b"User-agent: *\nDisallow: /abcdef\n"
    robots = parse(body, limit=len(body) - 4)

    rules = Rules(robots, "examplebot")
    assert rules.match(U + "/abc").allowed  # "Disallow: /ab" would have blocked it


def test_matched_rule_and_line_are_reported() -> None:
    robots = parse(b"User-agent: *\nAllow: /\n\nUser-agent: examplebot\nDisallow: /x\n")
    rules = Rules(robots, "examplebot")

    match = rules.match(U + "/x/y")
    assert match.rule is not None
    assert (match.rule.line, match.rule.pattern, match.rule.allow) == (5, "/x", False)
    assert rules.matched_token == "examplebot"
    assert rules.group_lines == (4,)


def test_crawl_delay_of_the_applicable_group() -> None:
    robots = parse(b"User-agent: *\nCrawl-delay: 9\n\nUser-agent: examplebot\nCrawl-delay: 2.5\n")

    assert Rules(robots, "examplebot").crawl_delay == 2.5
    assert Rules(robots, "otherbot").crawl_delay == 9


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("/a%2fb", "/a%2Fb"), ("/%7e", "/~"), ("/\u00e9", "/%C3%A9"), ("/a b", "/a b")],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("body", "line"),
    [
        # Allow wins a tie wherever it stands; of equally specific rules alike, the first.
        (b"User-agent: *\nDisallow: /a*\nAllow: /a$\nAllow: /ab\n", 4),
        (b"User-agent: *\nDisallow: /ab\nDisallow: /a*\nAllow: /x\n", 2),
        (b"User-agent: *\nAllow: /\nDisallow: /abc\nDisallow: /ab*\n", 3),
    ],
)
def test_the_rule_cited_is_the_one_that_wins(body: bytes, line: int) -> None:
    match = Rules(parse(body), "examplebot").match(U + "/abc")
    assert match.rule is not None
    assert match.rule.line == line
