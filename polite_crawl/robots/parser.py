"""Line parser for robots.txt (RFC 9309 §2.1-§2.2, §2.5).

The parser keeps every rule's line number, so that a decision can cite the exact line it rests
on. It never raises on content: bytes that are not robots.txt simply yield no groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DEFAULT_PARSE_LIMIT = 512 * 1024
RFC_MIN_PARSE_LIMIT = 500 * 1024  # RFC 9309 §2.5: the limit MUST be at least 500 KiB

# Common misspellings seen in the wild; accepting them is what the site owner meant.
_USER_AGENT = {"user-agent", "useragent", "user agent"}
_ALLOW = {"allow"}
_DISALLOW = {"disallow", "dissallow", "dissalow", "disalow", "diasllow", "disallaw"}
_CRAWL_DELAY = {"crawl-delay", "crawldelay", "crawl delay"}
_SITEMAP = {"sitemap", "site-map"}

_ALL_KEYS = _USER_AGENT | _ALLOW | _DISALLOW | _CRAWL_DELAY | _SITEMAP

_TOKEN = re.compile(r"[A-Za-z_-]+")


@dataclass(frozen=True, slots=True)
class Rule:
    allow: bool
    pattern: str  # as written, trimmed
    line: int  # 1-based line number in the file


@dataclass(slots=True)
class Group:
    agents: list[str] = field(default_factory=list)  # lower-cased product tokens, or "*"
    agent_lines: list[int] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    crawl_delay: float | None = None
    crawl_delay_line: int | None = None
    # Other records inside the group ("Content-Signal", ...), kept raw for later checks.
    extensions: list[tuple[str, str, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RobotsFile:
    groups: tuple[Group, ...]
    sitemaps: tuple[str, ...]
    truncated: bool  # the body was longer than the parse limit
    invalid_utf8: bool


def product_token(value: str) -> str:
    """The token a User-agent line names: `ExampleBot/1.0` names `examplebot`."""
    value = value.strip()
    if value.startswith("*"):
        return "*"
    match = _TOKEN.match(value)
    return match.group(0).lower() if match else ""


def parse(body: bytes, limit: int = DEFAULT_PARSE_LIMIT) -> RobotsFile:
    truncated = len(body) > limit
    if truncated:
        # Keep whole lines only: a rule cut in half could widen or narrow what it says.
        body = body[:limit]
        cut = max(body.rfind(b"\n"), body.rfind(b"\r"))
        body = body[: cut + 1] if cut >= 0 else b""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Not UTF-8 as RFC 9309 asks, but unambiguous: read it rather than see no rules at all.
        text, invalid = body.decode("utf-16", errors="replace"), True
    else:
        try:
            text, invalid = body.decode("utf-8"), False
        except UnicodeDecodeError:
            # Keep the parseable rules (RFC 9309 §2.3.1.5) instead of discarding the file.
            text, invalid = body.decode("utf-8", errors="replace"), True

    groups: list[Group] = []
    sitemaps: list[str] = []
    current: Group | None = None
    in_rules = False  # a rule was seen since the last user-agent line
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if ":" in line:
            key, _, value = line.partition(":")
        else:
            # "Disallow /private": a missing colon must not silently drop a rule.
            key, _, value = line.partition(" ")
            if key.lower() not in _ALL_KEYS:
                continue
        key = key.strip().lower()
        value = value.strip()
        if key in _USER_AGENT:
            if current is None or in_rules:
                current = Group()
                groups.append(current)
                in_rules = False
            token = product_token(value)
            if token:
                current.agents.append(token)
                current.agent_lines.append(number)
        elif key in _SITEMAP:
            if value:
                sitemaps.append(value)
        elif current is None:
            continue  # rules before any user-agent line belong to no group
        elif key in _ALLOW or key in _DISALLOW:
            in_rules = True
            if value:  # an empty value ("Disallow:") is no rule at all
                current.rules.append(Rule(key in _ALLOW, value, number))
        elif key in _CRAWL_DELAY:
            in_rules = True
            delay = _parse_delay(value)
            if delay is not None and current.crawl_delay is None:
                current.crawl_delay, current.crawl_delay_line = delay, number
        else:
            in_rules = True
            current.extensions.append((key, value, number))
    return RobotsFile(tuple(groups), tuple(sitemaps), truncated, invalid)


def _parse_delay(value: str) -> float | None:
    try:
        delay = float(value)
    except ValueError:
        return None
    if delay != delay or delay < 0 or delay == float("inf"):  # NaN, negative, infinite
        return None
    return delay
