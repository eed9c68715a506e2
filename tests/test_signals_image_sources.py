"""Where a page shows images: srcset candidates split as browsers split them, and as a scraper
that splits on every comma would."""

from __future__ import annotations

import pytest

from polite_crawl.signals.image_sources import image_urls, srcset_urls


@pytest.mark.parametrize(
    ("value", "urls"),
    [
        ("/a.jpg 1x, /b.jpg 2x", ["/a.jpg", "/b.jpg"]),
        ("/m.jpg 640w,/l.jpg 1280w", ["/m.jpg", "/l.jpg"]),
        ("  /only.jpg  ", ["/only.jpg"]),
        ("/a.jpg,, /b.jpg", ["/a.jpg", "/b.jpg"]),  # trailing commas end a URL
        ("a.jpg,b.jpg", ["a.jpg,b.jpg"]),  # one URL to a browser
        ("/c.jpg (x, y) 2x, /d.jpg", ["/c.jpg", "/d.jpg"]),  # no split inside parentheses
        ("data:image/png;base64,AA== 1x, /e.jpg 2x", ["data:image/png;base64,AA==", "/e.jpg"]),
        ("", []),
        (" , ,", []),
    ],
)
def test_srcset_candidates_are_split_as_browsers_do(value: str, urls: list[str]) -> None:
    assert list(srcset_urls(value)) == urls


def test_image_urls_include_what_a_comma_splitting_scraper_asks_for() -> None:
    found = set(image_urls(["/one.jpg", "  "], ["a.jpg,b.jpg 2x"]))
    assert found == {"/one.jpg", "a.jpg,b.jpg", "a.jpg", "b.jpg"}
