"""The public surface stays what the docs say it is."""

from __future__ import annotations

import re
from pathlib import Path

import polite_crawl
from polite_crawl.core.decision import Reason
from polite_crawl.settings import PoliteSettings, reference_markdown, setting_name

TESTS = Path(__file__).parent
DOCS = TESTS.parent / "docs"


def test_settings_page_is_generated_from_the_model() -> None:
    assert (DOCS / "settings.md").read_text() == reference_markdown()


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text()

    for field in PoliteSettings.model_fields:
        assert f"## `{setting_name(field)}`" in text


def test_every_reason_id_is_in_the_reference() -> None:
    text = (DOCS / "reference.md").read_text()

    for reason in Reason:
        assert f"| `{reason.value}` |" in text


def test_every_test_cited_in_the_robots_table_exists() -> None:
    text = (DOCS / "robots.md").read_text()
    cited = set(re.findall(r"`(test_\w+\.py)::(test_\w+)`", text))

    assert len(cited) > 20
    for filename, name in sorted(cited):
        source = (TESTS / filename).read_text()
        assert f"def {name}(" in source, f"{filename}::{name} is cited but does not exist"


def test_every_test_file_the_security_notes_cite_exists() -> None:
    cited = set(re.findall(r"(test_\w+\.py)", (DOCS / "security.md").read_text()))

    assert len(cited) > 5
    assert all((TESTS / name).exists() for name in cited)


def test_exported_members() -> None:
    public = sorted(n for n in dir(polite_crawl) if not n.startswith("_") and n[0].isupper())

    assert sorted(n for n in polite_crawl.__all__ if n != "__version__") == public


def test_the_purpose_vocabulary_is_still_importable_from_the_request_context() -> None:
    # It moved to core/purposes.py (#14); user code written against core.context keeps working.
    from polite_crawl.core import context, purposes

    assert (context.Purpose, context.Kind) == (purposes.Purpose, purposes.Kind)
    assert (polite_crawl.Purpose, polite_crawl.Kind) == (purposes.Purpose, purposes.Kind)
