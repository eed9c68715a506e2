"""What the gate reads of a browser request's resource type (polite_crawl/browser/)."""

from __future__ import annotations

import pytest

from polite_crawl.browser.resources import resource
from polite_crawl.core.purposes import Kind


@pytest.mark.parametrize(
    ("resource_type", "kind"),
    [("image", Kind.IMAGE), ("media", Kind.FILE), ("script", Kind.PAGE), ("fetch", Kind.PAGE)],
)
def test_a_pages_subresources_are_part_of_it(resource_type: str, kind: Kind) -> None:
    found = resource(resource_type, navigation=False)
    assert found.kind is kind
    assert found.embedded


def test_a_navigation_is_a_page_of_its_own_whatever_its_type() -> None:
    for resource_type in ("document", "image", "other"):
        found = resource(resource_type, navigation=True)
        assert found.kind is Kind.PAGE
        assert not found.embedded


@pytest.mark.parametrize("resource_type", ["document", "other", "a-type-of-a-later-browser", ""])
def test_an_unknown_or_embedded_document_inherits_the_pages_signals(resource_type: str) -> None:
    # Stricter reading: an <object> document, or a type not in the table, is part of the page.
    assert resource(resource_type, navigation=False).embedded
