"""docs/policies.md's platform tables are generated from the policy files."""

from __future__ import annotations

from pathlib import Path

import pytest

from polite_crawl.policy import tables
from polite_crawl.policy.loader import bundled_dir, load_dir

PAGE = Path(__file__).parent.parent / "docs" / "policies.md"
RESOLVER = tables.shipped_resolver()


def test_the_committed_page_is_the_generated_one() -> None:
    text = PAGE.read_text(encoding="utf-8")
    assert tables.render(text, RESOLVER) == text, "run `make policies-doc`"


def test_a_changed_policy_changes_the_page(tmp_path: Path) -> None:
    # The comparison above is not vacuous: a policy edit shows in the generated block.
    changed = (
        (bundled_dir() / "venmo.toml")
        .read_text()
        .replace('stance = "consent-required"', 'stance = "allowed"')
    )
    (tmp_path / "venmo.toml").write_text(changed)
    others = [p for p in load_dir(bundled_dir()) if p.id != "venmo"]
    from polite_crawl.policy.resolver import Resolver

    resolver = Resolver([*others, *load_dir(tmp_path)])
    text = PAGE.read_text(encoding="utf-8")
    rendered = tables.render(text, resolver)
    assert rendered != text
    assert "| venmo | allowed (secondary) |" in rendered
    assert "| venmo | `https://venmopics.appspot.com/" in rendered
    assert "admitted (`tos.allowed`)" in rendered.split("| venmo | `")[1].split("\n")[0]


def test_every_shipped_platform_has_a_profile_image_in_the_table() -> None:
    assert set(tables.PROFILE_IMAGES) == {p.id for p in load_dir(bundled_dir())}


@pytest.mark.parametrize(("platform", "url"), sorted(tables.PROFILE_IMAGES.items()))
def test_each_profile_image_resolves_to_its_platform(platform: str, url: str) -> None:
    from urllib.parse import urlsplit

    resolved = RESOLVER.resolve(urlsplit(url).hostname or "")
    assert resolved is not None
    # Threads serves its media from Instagram's CDN; the table shows that.
    assert resolved.id == ("instagram" if platform == "threads" else platform)


def test_a_page_without_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="markers"):
        tables.render("# no block here\n", RESOLVER)
