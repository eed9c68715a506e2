"""Group selection and path matching (RFC 9309 §2.2.1-§2.2.3).

- A group applies when one of its product tokens equals ours, case-insensitively; all such
  groups are merged. Only when none applies do the `*` groups (merged) apply.
- The most specific match (most octets) wins; an allow rule wins a tie; /robots.txt is always
  allowed. `*` matches any sequence, a final `$` anchors the end.
- Paths and patterns are compared after the same normalization (RFC 3986 §6.2.2): non-ASCII
  as UTF-8 percent-encoding, hex digits upper-cased, unreserved characters decoded.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from polite_crawl.robots.parser import Group, RobotsFile, Rule

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")


def normalize(text: str) -> str:
    if text.isascii() and "%" not in text:
        return text  # the common case: nothing to normalize
    return _normalized(text)


@functools.lru_cache(maxsize=1024)  # robots.txt, tdmrep.json and ai.txt ask about one path
def _normalized(text: str) -> str:
    raw = text.encode("utf-8", errors="surrogatepass")

    def fix(m: re.Match[bytes]) -> bytes:
        octet = int(m.group(1), 16)
        return bytes([octet]) if octet in _UNRESERVED else b"%" + m.group(1).upper()

    raw = _PERCENT.sub(fix, raw)
    return "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in raw)


def path_variants(path: str) -> tuple[str, ...]:
    """The path as sent, and as a server may resolve it: dot segments removed (also when
    percent-encoded) and runs of slashes collapsed. A rule that disallows any of them applies:
    `/public/../private` must not slip past `Disallow: /private`."""
    raw, mark, query = path.partition("?")
    if (
        raw.startswith("/")
        and "/." not in raw
        and "//" not in raw
        and "%2" not in raw
        and (query or not mark)
    ):
        return (path,)  # no dot segment, no empty one, no bare `?`: nothing to resolve
    return _resolved_variants(path)


@functools.lru_cache(maxsize=4096)  # robots.txt, tdmrep.json and ai.txt ask about one path
def _resolved_variants(path: str) -> tuple[str, ...]:
    raw, _, query = path.partition("?")
    decoded = re.sub("%2[eE]", ".", raw)
    segments: list[str] = []
    for segment in decoded.split("/")[1:]:
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in (".", ""):
            segments.append(segment)
    resolved = "/" + "/".join(segments)
    if decoded.endswith(("/", "/.", "/..")) and resolved != "/":
        resolved += "/"
    resolved += f"?{query}" if query else ""
    return (path,) if resolved == path else (path, resolved)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


class Match(NamedTuple):
    allowed: bool
    rule: Rule | None  # None: no rule matched (allowed by default)


NO_MATCH = Match(True, None)


@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: Rule
    parts: tuple[str, ...]  # the literal pieces between `*`s
    anchored: bool  # the pattern ended in `$`
    length: int
    match: Match  # the answer when this rule is the most specific match

    def matches(self, path: str) -> bool:
        # Linear-time glob matching: no regex, so a hostile pattern cannot make it backtrack.
        # Taking each inner piece at its leftmost place leaves the most room for the rest.
        parts = self.parts
        if len(parts) == 1:
            return path == parts[0] if self.anchored else path.startswith(parts[0])
        if not path.startswith(parts[0]):
            return False
        pos = len(parts[0])
        for piece in parts[1:-1]:
            found = path.find(piece, pos)
            if found < 0:
                return False
            pos = found + len(piece)
        last = parts[-1]
        if self.anchored:
            return len(path) - len(last) >= pos and path.endswith(last)
        return path.find(last, pos) >= 0


class Rules:
    """The rules that apply to one product token, ready to answer path queries."""

    __slots__ = (
        "_compiled",
        "crawl_delay",
        "crawl_delay_line",
        "extensions",
        "group_lines",
        "groups",
        "matched_token",
    )

    def __init__(self, robots: RobotsFile, token: str) -> None:
        token = token.lower()
        mine = [g for g in robots.groups if token in g.agents]
        chosen = mine or [g for g in robots.groups if "*" in g.agents]
        self.groups: tuple[Group, ...] = tuple(chosen)
        self.matched_token: str | None = (token if mine else "*") if chosen else None
        self.group_lines: tuple[int, ...] = tuple(line for g in chosen for line in g.agent_lines)
        self.crawl_delay: float | None = next(
            (g.crawl_delay for g in chosen if g.crawl_delay is not None), None
        )
        self.crawl_delay_line: int | None = next(
            (g.crawl_delay_line for g in chosen if g.crawl_delay is not None), None
        )
        # Most specific first, Allow before Disallow at equal length, file order otherwise:
        # the first rule that matches is the one RFC 9309 §2.2.2 says wins.
        self._compiled = sorted(
            (_compile(r) for g in chosen for r in g.rules),
            key=lambda c: (-c.length, not c.rule.allow),
        )
        # Other records of the applicable groups (Content-Signal, Content-Usage), in order.
        self.extensions: tuple[tuple[str, str, int], ...] = tuple(
            e for g in chosen for e in g.extensions
        )

    def match(self, url: str) -> Match:
        return self.match_path(path_of(url))

    def match_path(self, path: str) -> Match:
        """Match a URL's path (with its query); the strictest reading of it wins."""
        variants = path_variants(path)
        if len(variants) == 1:
            return self._match_one(path)
        matches = [self._match_one(p) for p in variants]
        return next((m for m in matches if not m.allowed), matches[0])

    def _match_one(self, path: str) -> Match:
        path = normalize(path)
        if path == "/robots.txt":
            return NO_MATCH
        for c in self._compiled:
            parts = c.parts
            # The common rule, a plain prefix, is tested inline.
            if len(parts) == 1 and not c.anchored:
                if path.startswith(parts[0]):
                    return c.match
            elif c.matches(path):
                return c.match
        return NO_MATCH


Pattern = _Compiled  # a compiled path pattern, for files that reuse robots.txt patterns


def compile_pattern(rule: Rule) -> Pattern:
    """A robots.txt-style pattern (`*`, a final `$`), ready to match normalized paths."""
    return _compile(rule)


def _compile(rule: Rule) -> _Compiled:
    pattern = normalize(rule.pattern)
    if not pattern.startswith(("/", "*")):
        pattern = "/" + pattern
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    return _Compiled(rule, tuple(body.split("*")), anchored, len(pattern), Match(rule.allow, rule))
