"""`polite-crawl policies diff OLD_DIR NEW_DIR`: what a policy update changes for a crawl."""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING

from polite_crawl.core.purposes import Purpose
from polite_crawl.policy.diff import Change, diff
from polite_crawl.policy.loader import bundled_dir, load_dir
from polite_crawl.testing.crawl import run_cli

if TYPE_CHECKING:
    from pathlib import Path


def copy_of_shipped(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(bundled_dir(), target, ignore=shutil.ignore_patterns("*.md"))
    return target


def edit(directory: Path, policy_id: str, old: str, new: str) -> None:
    path = directory / f"{policy_id}.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_same_set_changes_nothing(tmp_path: Path) -> None:
    shipped = load_dir(bundled_dir())
    assert diff(shipped, shipped) == []

    proc = run_cli("policies", "diff", str(bundled_dir()), str(copy_of_shipped(tmp_path, "new")))

    assert proc.returncode == 0, proc.stderr
    assert "no verdict changes" in proc.stdout


def test_a_stance_change_is_one_line_per_purpose_it_touches(tmp_path: Path) -> None:
    new = copy_of_shipped(tmp_path, "new")
    # X's default goes from consent-required to allowed: every purpose without an override moves.
    edit(new, "twitter", 'stance = "consent-required"', 'stance = "allowed"')

    changes = diff(load_dir(bundled_dir()), load_dir(new))

    overridden = {"facial-recognition", "monitoring", "ai-training"}
    assert {c.what for c in changes} == {p.value for p in Purpose} - overridden
    assert all(c.platform == "twitter" for c in changes)
    assert all((c.old, c.new) == ("consent-required", "allowed") for c in changes)


def test_requirements_and_grades_are_changes_too(tmp_path: Path) -> None:
    new = copy_of_shipped(tmp_path, "new")
    edit(new, "wikimedia", "contact_required = true\n", "")
    edit(new, "tiktok", 'grade = "verified"', 'grade = "secondary"')

    changes = diff(load_dir(bundled_dir()), load_dir(new), [Purpose.RESEARCH])

    assert changes == [
        Change("tiktok", "research grade", "verified", "secondary"),
        Change("wikimedia", "research", "allowed, contact required", "allowed"),
    ]


def test_claims_aliases_and_platforms_added_or_dropped(tmp_path: Path) -> None:
    old, new = copy_of_shipped(tmp_path, "old"), copy_of_shipped(tmp_path, "new")
    edit(new, "reddit", '"reddituploads.com"]', '"reddituploads.com", "reddit.map.fastly.net"]')
    edit(new, "twitter", 'aliases = ["x"]', "aliases = []")
    (new / "venmo.toml").unlink()

    changes = diff(load_dir(old), load_dir(new), [Purpose.FACIAL_RECOGNITION])

    assert Change("reddit", "claims added", "-", "reddit.map.fastly.net") in changes
    assert Change("twitter", "aliases dropped", "x", "-") in changes
    assert Change("venmo", "platform", "present", "absent") in changes
    assert (
        Change(
            "venmo",
            "facial-recognition",
            "consent-required",
            "(no policy: robots.txt and signals alone)",
        )
        in changes
    )


def test_the_command_filters_by_purpose_and_speaks_json(tmp_path: Path) -> None:
    new = copy_of_shipped(tmp_path, "new")
    edit(new, "github", 'stance = "allowed"', 'stance = "consent-required"')  # archiving

    text = run_cli("policies", "diff", str(bundled_dir()), str(new), "--purpose", "archiving")
    other = run_cli("policies", "diff", str(bundled_dir()), str(new), "--purpose", "research")
    as_json = run_cli("policies", "diff", str(bundled_dir()), str(new), "--json")

    assert text.returncode == 1, text.stderr
    assert text.stdout.split() == ["github", "archiving", "allowed", "->", "consent-required"]
    assert other.returncode == 0
    assert as_json.returncode == 1
    assert [json.loads(line) for line in as_json.stdout.splitlines()] == [
        {"platform": "github", "what": "archiving", "old": "allowed", "new": "consent-required"}
    ]


def test_an_unreadable_set_is_an_error_not_a_difference(tmp_path: Path) -> None:
    broken = copy_of_shipped(tmp_path, "new")
    (broken / "venmo.toml").write_text("id = 'venmo'\n")

    proc = run_cli("policies", "diff", str(bundled_dir()), str(broken))
    missing = run_cli("policies", "diff", str(bundled_dir()), str(tmp_path / "nowhere"))

    assert proc.returncode == 2
    assert "venmo.toml: field" in proc.stderr
    assert missing.returncode == 2
    assert "not a directory" in missing.stderr
