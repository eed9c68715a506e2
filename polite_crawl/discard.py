"""The second line, after the fetch: what only the response reveals (its own X-Robots-Tag) can
still keep it from the spider and the pipelines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.core.checks.signals import REASONS
from polite_crawl.core.context import Kind
from polite_crawl.core.decision import Decision, Verdict
from polite_crawl.signals.mapping import forbidden
from polite_crawl.signals.robots_tag import directives

if TYPE_CHECKING:
    from scrapy.http import Response

    from polite_crawl.core.context import Purpose
    from polite_crawl.signals.memory import Inherited


def judge_response(
    response: Response, inherited: Inherited | None, token: str, purposes: frozenset[Purpose]
) -> Decision | None:
    """A discard decision when the response's own signals forbid a declared purpose."""
    found = directives(
        [v.decode("latin-1") for v in response.headers.getlist(b"X-Robots-Tag")], token
    )
    if not found:
        return None
    content_type = (response.headers.get(b"Content-Type") or b"").lower()
    kind = (
        inherited.kind
        if inherited
        else (Kind.IMAGE if content_type.startswith(b"image/") else Kind.PAGE)
    )
    hits = forbidden(found, purposes, kind)
    if not hits:
        return None
    directive, purpose = hits[0]
    return Decision(
        Verdict.DISCARD,
        REASONS[directive],
        {
            "signals": {
                "directive": directive,
                "purpose": purpose.value,
                "kind": kind.value,
                "from": "the response's X-Robots-Tag",
                "directives": sorted(found),
            }
        },
        (),
    )
