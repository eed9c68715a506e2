"""What a page said about a URL, carried in the request itself as plain data (`Request.meta`), so
that it survives where the crawl's memory (memory.py) does not: a request queued in a fleet's
shared Redis queue and taken by another worker, or kept in a JOBDIR across a restart. Both are
read at the decision; the stricter union of the two applies.

Carried data is untrusted (it crossed Redis or a disk): a value that is not exactly what
`to_meta` writes reads as a page whose signals are unknown, which refuses what any page signal
could refuse (fail closed), never as a page that said nothing.
"""

from __future__ import annotations

from typing import Any

from polite_crawl.core.purposes import Kind
from polite_crawl.signals.mapping import UNREADABLE_HEAD
from polite_crawl.signals.memory import Inherited, merged, url_key

CARRIED_META = "polite_crawl_inherited"
MAX_DIRECTIVES = 64


def to_meta(url: str, inherited: Inherited) -> dict[str, Any]:
    """For the request of url. Bound to it: a spider that copies a response's meta into the
    requests it yields (a common idiom), or a redirect to another URL, carries data about
    another URL, which does not apply."""
    return {
        "url": url_key(url),
        "directives": sorted(inherited.directives),
        "kind": inherited.kind.value,
        "page": inherited.page,
        "linked": sorted(inherited.linked),
    }


def from_meta(value: Any, url: str) -> Inherited:
    """The Inherited that to_meta wrote; anything else, the unknown page's (see above)."""
    try:
        return _parse(value)
    except (TypeError, ValueError):
        unknown = frozenset({UNREADABLE_HEAD})
        return Inherited(unknown, Kind.IMAGE, url, unknown)


def _parse(value: Any) -> Inherited:
    if not isinstance(value, dict) or set(value) != {
        "url",
        "directives",
        "kind",
        "page",
        "linked",
    }:
        raise ValueError("not a carried signal")
    directives, linked = value["directives"], value["linked"]
    for names in (directives, linked):
        if not isinstance(names, list) or len(names) > MAX_DIRECTIVES:
            raise ValueError("not a list of directives")
        if not all(isinstance(n, str) for n in names):
            raise ValueError("a directive that is not a string")
    if not isinstance(value["page"], str):
        raise ValueError("page is not a URL")
    return Inherited(frozenset(directives), Kind(value["kind"]), value["page"], frozenset(linked))


def combined(remembered: Inherited | None, meta: Any, url: str) -> Inherited | None:
    """What the decision about url inherits: the crawl's memory and what the request carries
    about url (data about another URL, copied along with a response's meta, is not about it)."""
    if meta is None or (isinstance(meta, dict) and meta.get("url") != url_key(url)):
        return remembered
    carried = from_meta(meta, url)
    return carried if remembered is None else merged(remembered, carried)
