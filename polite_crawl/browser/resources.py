"""A browser request's resource type (Playwright's names, from the browser's own), read as the
gate reads a Scrapy request: the kind of resource, and whether it is part of the page that made
it (and so inherits that page's opt-out signals) or a page of its own."""

from __future__ import annotations

from typing import NamedTuple

from polite_crawl.core.purposes import Kind


class Resource(NamedTuple):
    kind: Kind
    embedded: bool  # part of the page that loads it: it inherits the page's signals


# A page's image is what `noimageai` and `noimageindex` concern; audio and video are files the
# page shows. Scripts, styles, fonts and the data a page loads (XHR, fetch, EventSource) are
# the page's own content: its `noai` covers them as it covers the page.
_RESOURCES = {
    "document": Resource(Kind.PAGE, embedded=False),
    "image": Resource(Kind.IMAGE, embedded=True),
    "media": Resource(Kind.FILE, embedded=True),
    "stylesheet": Resource(Kind.PAGE, embedded=True),
    "script": Resource(Kind.PAGE, embedded=True),
    "font": Resource(Kind.PAGE, embedded=True),
    "texttrack": Resource(Kind.PAGE, embedded=True),
    "xhr": Resource(Kind.PAGE, embedded=True),
    "fetch": Resource(Kind.PAGE, embedded=True),
    "eventsource": Resource(Kind.PAGE, embedded=True),
    "manifest": Resource(Kind.PAGE, embedded=True),
}
# A type this table does not know (Playwright's "other", or one a later browser adds) is read as
# part of the page: it inherits every signal the page gave, the stricter reading.
_UNKNOWN = Resource(Kind.PAGE, embedded=True)


def resource(resource_type: str, *, navigation: bool) -> Resource:
    """What a browser request is. A navigation (a page or frame loading a document) is a page of
    its own, whatever type the browser gives it."""
    if navigation:
        return _RESOURCES["document"]
    found = _RESOURCES.get(resource_type, _UNKNOWN)
    if found.embedded:
        return found
    # A document that is not a navigation (an <object> or <embed>): part of the page.
    return Resource(found.kind, embedded=True)
