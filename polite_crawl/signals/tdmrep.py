"""TDMRep, the W3C Community Group's TDM Reservation Protocol (CG-FINAL): how a rightsholder
reserves text and data mining rights under EU CDSM Directive Art. 4.

- `/.well-known/tdmrep.json`: a JSON array of `{"location", "tdm-reservation", "tdm-policy"?}`.
  Locations are robots.txt-style path patterns (`*`, a final `$`), but **the first matching
  rule in sequence wins**, not the longest. No match: unset.
- `tdm-reservation` is 1 (reserved) or 0 (not reserved); "other values are considered protocol
  errors" and the value is unset. A rule whose value is unset says nothing, so the next rule
  that matches speaks (the strict reading: an invalid rule cannot lift a later reservation).
- The same two properties as HTTP headers (`tdm-reservation: 1`) and HTML meta tags
  (`<meta name="tdm-reservation" content="1">`) on a resource.

A file that is not JSON at all (a soft-404 HTML page answered 200) is no file; one that is JSON
but broken or of the wrong shape cannot be read, and the site evidently meant to say something
about mining: the whole origin is treated as reserved (fail-closed, like robots.txt).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from polite_crawl.origin.store import Read
from polite_crawl.robots.parser import Rule
from polite_crawl.robots.rules import Pattern, compile_pattern, normalize, path_variants
from polite_crawl.signals.meta import meta_contents
from polite_crawl.signals.text import decode_utf16_32

if TYPE_CHECKING:
    from collections.abc import Iterable

TDM_HEADER = b"tdm-reservation"
TDM_META = "tdm-reservation"
MAX_RULES = 10_000  # more rules than any site needs; the rest are not read
MAX_VALUE = 1024


@dataclass(frozen=True, slots=True)
class TdmRule:
    index: int  # 0-based position in the array, for evidence
    location: str
    reserved: bool
    policy: str | None
    pattern: Pattern = field(repr=False, compare=False)


class TdmAnswer(NamedTuple):  # one per decision: a tuple is built in C
    reserved: bool
    rule: TdmRule | None  # None: no rule matched, or the whole file was unreadable
    error: str | None = None  # why the file could not be read (then reserved is True)


_NOTHING_RESERVED = TdmAnswer(False, None)


@dataclass(frozen=True, slots=True)
class TdmFile:
    rules: tuple[TdmRule, ...]
    error: str | None = None  # the file was JSON but could not be read: everything reserved
    ignored: int = 0  # rules skipped as protocol errors

    def answer(self, path: str) -> TdmAnswer:
        if self.error is not None:
            return TdmAnswer(True, None, self.error)
        # Every reading of the path a server may resolve counts; a reservation on any wins.
        variants = path_variants(path)
        if len(variants) == 1:
            return self._first_match(normalize(path))
        answers = [self._first_match(normalize(p)) for p in variants]
        return next((a for a in answers if a.reserved), answers[0])

    def _first_match(self, path: str) -> TdmAnswer:
        for rule in self.rules:
            if rule.pattern.matches(path):
                return TdmAnswer(rule.reserved, rule)
        return _NOTHING_RESERVED


def read_tdmrep(body: bytes, limit: int) -> Read[TdmFile]:
    """Read /.well-known/tdmrep.json (the store's reader: body of a 2xx answer)."""
    truncated = len(body) > limit
    text = _decode(body[:limit]).lstrip("\ufeff \t\r\n")
    if not text.startswith(("[", "{")):
        return Read(TdmFile(()), truncated)  # not JSON at all: a soft 404, no file
    if truncated:
        return Read(TdmFile((), f"longer than the {limit}-byte limit"), truncated)
    try:
        data: Any = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return Read(TdmFile((), f"not valid JSON: {str(exc)[:200]}"))
    if not isinstance(data, list):
        return Read(TdmFile((), "not a JSON array"))
    if len(data) > MAX_RULES:  # rules past the cap could reserve what earlier ones do not
        return Read(TdmFile((), f"more than {MAX_RULES} rules"))
    rules: list[TdmRule] = []
    ignored = 0
    for index, item in enumerate(data):
        rule = _rule(index, item)
        if rule is None:
            ignored += 1
        else:
            rules.append(rule)
    return Read(TdmFile(tuple(rules), ignored=ignored))


def _rule(index: int, item: object) -> TdmRule | None:
    if not isinstance(item, dict):
        return None
    location = item.get("location")
    reserved = reservation(item.get("tdm-reservation"))
    if not isinstance(location, str) or not location or reserved is None:
        return None
    policy = item.get("tdm-policy")
    location = location[:MAX_VALUE]
    return TdmRule(
        index,
        location,
        reserved,
        policy[:MAX_VALUE] if isinstance(policy, str) else None,
        compile_pattern(Rule(not reserved, location, index)),
    )


def reservation(value: object) -> bool | None:
    """1 -> reserved, 0 -> not reserved, anything else (1.0, true, "1") -> unset: a protocol
    error. In tdmrep.json the value is a JSON integer."""
    if type(value) is int and value in (0, 1):
        return value == 1
    return None


def text_reservation(text: str) -> bool | None:
    """The same value written as text (a header, a meta tag's content)."""
    text = text.strip()
    return True if text == "1" else False if text == "0" else None


def header_reservation(values: Iterable[str]) -> bool | None:
    """The `tdm-reservation` header(s) of a response. Several instances, or one a proxy merged
    into a comma list: a 1 anywhere wins."""
    found = [
        text_reservation(part) for v in values for part in v[:MAX_VALUE].split(",") if part.strip()
    ]
    if True in found:
        return True
    return False if False in found else None


def meta_reservation(html: bytes) -> bool | None:
    """`<meta name="tdm-reservation" content="1">` in a page."""
    return header_reservation(c for _, c in meta_contents(html, frozenset({TDM_META})))


def _decode(body: bytes) -> str:
    # JSON is UTF-8, but a file saved as UTF-16 or UTF-32 with its byte-order mark is the same
    # rules in another encoding: read it, rather than mistake it for "no file".
    text = decode_utf16_32(body)
    return body.decode("utf-8", errors="replace") if text is None else text
