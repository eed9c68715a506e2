"""What each opt-out signal forbids, by declared purpose and by what is fetched.

A signal that does not concern a declared purpose does not block it: a search-indexing crawl
still fetches images on a `noimageai` page. (Contract table: docs/signals.md.)
"""

from __future__ import annotations

from polite_crawl.core.purposes import Kind, Purpose

AI_USES = frozenset({Purpose.AI_TRAINING, Purpose.AI_INPUT, Purpose.FACIAL_RECOGNITION})
_AI_USES = AI_USES
# Text and data mining (EU CDSM Directive Art. 2(2): automated analysis of text and data to
# generate information such as patterns, trends and correlations). What TDMRep's reservation and
# IPTC's "Data Mining" prohibition cover. Search indexing and archiving are not mining; research
# is, and an Art. 3 research organisation's exemption is not something a crawler can verify.
TEXT_AND_DATA_MINING = AI_USES | frozenset(
    {Purpose.RESEARCH, Purpose.COMMERCIAL_DATA_COLLECTION, Purpose.MONITORING}
)
_ALL_KINDS = frozenset(Kind)
_IMAGES = frozenset({Kind.IMAGE})

# A page's TDMRep reservation (tdm-reservation: 1 as a header or meta tag) travels with the
# page's other signals under this name.
TDM_RESERVED = "tdm-reservation"

# A page whose <head> could not be read whole (longer than POLITE_CRAWL_HEAD_SCAN_LIMIT): its
# signals are unknown, so it travels as if it said everything a page can say. The colon keeps
# the name out of reach of any header or meta tag (the directive parser splits on it).
UNREADABLE_HEAD = "head:unreadable"
# Every purpose some page signal can refuse (noai, noimageai, noindex, noimageindex,
# tdm-reservation). Archiving is not among them: no page signal forbids it.
PAGE_SIGNAL_PURPOSES = TEXT_AND_DATA_MINING | frozenset({Purpose.SEARCH_INDEXING})

# directive -> (purposes it forbids, kinds of content it concerns)
ROBOTS_TAG: dict[str, tuple[frozenset[Purpose], frozenset[Kind]]] = {
    "noai": (_AI_USES, _ALL_KINDS),
    "noimageai": (_AI_USES, _IMAGES),
    "noindex": (frozenset({Purpose.SEARCH_INDEXING}), _ALL_KINDS),
    "noimageindex": (frozenset({Purpose.SEARCH_INDEXING}), _IMAGES),
    TDM_RESERVED: (TEXT_AND_DATA_MINING, _ALL_KINDS),
    UNREADABLE_HEAD: (PAGE_SIGNAL_PURPOSES, _ALL_KINDS),
}


def forbidden(
    directives: frozenset[str], purposes: frozenset[Purpose], kind: Kind
) -> list[tuple[str, Purpose]]:
    """(directive, purpose) pairs by which the directives forbid this content for a purpose."""
    out: list[tuple[str, Purpose]] = []
    for directive in sorted(directives):
        rule = ROBOTS_TAG.get(directive)
        if rule is None or kind not in rule[1]:
            continue
        out += [(directive, p) for p in sorted(purposes & rule[0], key=lambda p: p.value)]
    return out
