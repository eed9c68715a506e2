"""AI-use preferences written in robots.txt, inside a user-agent group:

- `Content-Signal: search=yes, ai-input=no, ai-train=no` (Cloudflare's Content Signals,
  draft-romm-aipref-contentsignals; values yes/no);
- `Content-Usage: train-ai=n` or `Content-Usage: /images/ train-ai=n` (IETF AIPREF,
  draft-ietf-aipref-attach; values y/n, an optional leading path limits it to that prefix).

Both are drafts. A "no" forbids every declared purpose mapped to that category (docs/purposes.md);
unknown categories and values are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from polite_crawl.core.purposes import Purpose

if TYPE_CHECKING:
    from collections.abc import Iterable

_FR = Purpose.FACIAL_RECOGNITION
CATEGORIES: dict[str, dict[str, frozenset[Purpose]]] = {
    "content-signal": {
        "search": frozenset({Purpose.SEARCH_INDEXING}),
        "ai-input": frozenset({Purpose.AI_INPUT, _FR}),
        "ai-train": frozenset({Purpose.AI_TRAINING, _FR}),
    },
    "content-usage": {
        "search": frozenset({Purpose.SEARCH_INDEXING}),
        "train-ai": frozenset({Purpose.AI_TRAINING, _FR}),
        "train-genai": frozenset({Purpose.AI_TRAINING}),
    },
}
_NO = frozenset({"no", "n"})
# The evidence quotes the record; a hostile robots.txt can make one line as long as the parse
# limit, and that must not be copied into every refusal and every audit record.
MAX_QUOTE = 512


@dataclass(frozen=True, slots=True)
class Refusal:
    record: str  # content-signal | content-usage
    category: str
    purpose: Purpose
    line: int
    text: str


def refusals(
    extensions: Iterable[tuple[str, str, int]], path: str, purposes: frozenset[Purpose]
) -> list[Refusal]:
    """What the robots.txt records of the applicable groups refuse for these purposes."""
    out: list[Refusal] = []
    for key, value, line in extensions:
        table = CATEGORIES.get(key)
        if table is None:
            continue
        prefs = value.strip()
        quote = prefs if len(prefs) <= MAX_QUOTE else prefs[:MAX_QUOTE] + "..."
        text = f"{key.title()}: {quote}"
        if prefs.startswith("/"):  # a path-scoped Content-Usage
            scope, _, prefs = prefs.partition(" ")
            if not path.startswith(scope):
                continue
        for part in prefs[:4096].split(","):
            name, sep, answer = part.partition("=")
            name, answer = name.strip().lower(), answer.strip().lower()
            if not sep or answer not in _NO or name not in table:
                continue
            out += [
                Refusal(key, name, p, line, text)
                for p in sorted(table[name] & purposes, key=lambda p: p.value)
            ]
    return out


def header_refusals(values: Iterable[str], purposes: frozenset[Purpose]) -> list[Refusal]:
    """What a response's own `Content-Usage` header(s) refuse (draft-ietf-aipref-attach: the
    same vocabulary as the robots.txt record, applying to that response alone)."""
    return refusals(
        (("content-usage", v, 0) for v in values if not v.strip().startswith("/")), "/", purposes
    )
