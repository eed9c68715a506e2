"""Broken policy and consent files stop start-up with the file, the field and the reason; they
are never skipped silently."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from polite_crawl.policy.loader import PolicyError, load_consents, load_dir
from polite_crawl.policy.resolver import Resolver
from polite_crawl.testing.crawl import run_cli
from polite_crawl.testing.mockweb import MockWeb, page

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]

GOOD = """
id = "example"
name = "Example"
reviewed = 2026-11-01
domains = ["example-platform.com"]

[access]
stance = "consent-required"
source = "tos"
clause = "No robots without permission."

[[sources]]
id = "tos"
title = "Terms"
url = "https://example-platform.com/terms"
date = 2026-01-01
grade = "verified"
"""

BROKEN_POLICIES = {
    "bad-toml": (GOOD.replace('name = "Example"', 'name = "Example'), "not valid TOML"),
    "not-utf8": (GOOD.replace("Example", "Exampl\udce9"), "not UTF-8"),
    "unknown-field": (
        GOOD.replace("reviewed", 'colour = "red"\nreviewed'),
        "field colour: Extra inputs are not permitted",
    ),
    "wrong-type": (
        GOOD.replace("reviewed = 2026-11-01", 'reviewed = "last week"'),
        "field reviewed: Input should be a valid date",
    ),
    "missing-field": (
        GOOD.replace("reviewed = 2026-11-01\n", ""),
        "field reviewed: Field required",
    ),
    "bad-stance": (
        GOOD.replace('stance = "consent-required"', 'stance = "maybe"'),
        "field access.stance: Input should be 'allowed', 'consent-required' or 'prohibited'",
    ),
    "bad-purpose": (
        GOOD + '\n[purposes.spying]\nstance = "prohibited"\nsource = "tos"\nclause = "x"\n',
        "field purposes.spying.[key]: Input should be",
    ),
    "dangling-source": (
        GOOD.replace('source = "tos"', 'source = "elsewhere"'),
        "access.source = 'elsewhere' names no source (sources: tos)",
    ),
    "long-quote": (GOOD + 'quote = "' + "word " * 30 + '"\n', "a quote has at most 25 words"),
    "upper-case-domain": (
        GOOD.replace("example-platform.com", "Example-Platform.com"),
        "'Example-Platform.com' is not a lower-case host name",
    ),
    "not-registrable": (
        GOOD.replace('"example-platform.com"', '"cdn.example-platform.com"'),
        "'cdn.example-platform.com' is not a registrable domain",
    ),
    "id-not-file-name": (
        GOOD.replace('id = "example"', 'id = "other"'),
        "field id: 'other' must match the file name",
    ),
    "claims-nothing": (
        GOOD.replace('domains = ["example-platform.com"]', ""),
        "a policy must claim at least one domain or host",
    ),
}


def write_policy(directory: Path, text: str, name: str = "example") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.toml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    return path


@pytest.mark.parametrize("case", sorted(BROKEN_POLICIES))
def test_broken_policy_file(tmp_path: Path, case: str) -> None:
    text, message = BROKEN_POLICIES[case]
    path = write_policy(tmp_path, text)

    with pytest.raises(PolicyError) as err:
        Resolver(load_dir(tmp_path))

    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_a_domain_claimed_by_two_policies(tmp_path: Path) -> None:
    write_policy(tmp_path, GOOD)
    other = write_policy(tmp_path, GOOD.replace('id = "example"', 'id = "second"'), "second")

    with pytest.raises(PolicyError) as err:
        Resolver(load_dir(tmp_path))

    assert f"{other}: field domains: 'example-platform.com' is also claimed by" in str(err.value)


def test_a_user_policy_may_not_claim_a_bundled_platform_domain(tmp_path: Path) -> None:
    from polite_crawl.policy.loader import load_all

    write_policy(tmp_path, GOOD.replace("example-platform.com", "twimg.com"))

    with pytest.raises(PolicyError, match=r"'twimg\.com' is also claimed by"):
        Resolver(load_all([tmp_path]).values())


def test_policies_validate_command(tmp_path: Path) -> None:
    write_policy(tmp_path, BROKEN_POLICIES["unknown-field"][0])
    proc = run_cli("policies", "validate", str(tmp_path))
    good = run_cli("policies", "validate", "policies")

    assert proc.returncode == 1
    assert "example.toml: field colour: Extra inputs are not permitted" in proc.stderr
    assert good.returncode == 0, good.stderr
    assert "22 policy files valid" in good.stdout


GRANT = """
[[grant]]
id = "g1"
platform = "reddit"
purposes = ["research"]
granted_by = "Reddit Inc."
evidence_url = "https://example.org/grant.pdf"
evidence_sha256 = "%s"
valid_from = 2026-01-01
valid_until = 2026-12-31
""" % ("ab" * 32)

BROKEN_CONSENTS = {
    "bad-toml": (GRANT.replace("[[grant]]", "[[grant]"), "not valid TOML"),
    "unknown-field": (GRANT + "signed = true\n", "field grant.0.signed: Extra inputs"),
    "bad-sha": (
        GRANT.replace("ab" * 32, "xyz"),
        "field grant.0.evidence_sha256: Value error, must be 64 lower-case hex digits",
    ),
    "reversed-dates": (
        GRANT.replace("2026-12-31", "2025-12-31"),
        "valid_until is before valid_from",
    ),
    "bad-purpose": (GRANT.replace('"research"', '"spying"'), "field grant.0.purposes.0"),
    "bad-scope": (GRANT + 'scope = ["reddit.com/r/x"]\n', "a scope entry is an http(s) URL"),
    "duplicate-id": (GRANT + GRANT, "grant ids must be unique: g1"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_CONSENTS))
def test_broken_consent_file(tmp_path: Path, case: str) -> None:
    text, message = BROKEN_CONSENTS[case]
    path = tmp_path / "consents.toml"
    path.write_text(text)

    with pytest.raises(PolicyError) as err:
        load_consents(path)

    assert str(path) in str(err.value)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("policy", "example.toml: field colour: Extra inputs are not permitted"),
        ("consents", "grant 'g1': field platform: 'nosuchplatform' is not a policy id"),
        (
            "missing-dir",
            "POLITE_CRAWL_POLICY_DIRS = ['/nonexistent/policies']: Value error, not a directory",
        ),
    ],
)
def test_the_crawl_refuses_to_start(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path, kind: str, message: str
) -> None:
    mockweb.add("http://blog.test/", page())
    settings: dict[str, object] = {}
    if kind == "policy":
        write_policy(tmp_path / "mine", BROKEN_POLICIES["unknown-field"][0])
        settings["POLITE_CRAWL_POLICY_DIRS"] = [str(tmp_path / "mine")]
    elif kind == "consents":
        (tmp_path / "consents.toml").write_text(GRANT.replace("reddit", "nosuchplatform"))
        settings["POLITE_CRAWL_CONSENTS"] = str(tmp_path / "consents.toml")
    else:
        settings["POLITE_CRAWL_POLICY_DIRS"] = ["/nonexistent/policies"]

    result = crawl(["http://blog.test/"], settings)

    assert result.returncode != 0
    assert "polite_crawl: the crawl cannot start: " in result.log
    assert message in result.log
    assert mockweb.hits == []
