"""Broken policy and consent files stop start-up with the file, the field and the reason; they
are never skipped silently."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from polite_crawl.policy.loader import PolicyError, bundled_dir, load_consents, load_dir
from polite_crawl.policy.resolver import Resolver
from polite_crawl.testing.crawl import run_cli
from polite_crawl.testing.mockweb import MockWeb, Resp, page

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
    "quote-and-no-quote": (
        GOOD + 'quote = "No robots."\nno_quote = "Not read."\n',
        "a source has a quote or a no_quote, not both",
    ),
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


ACME = (
    GOOD.replace('id = "example"', 'id = "acme-social"')
    .replace('stance = "consent-required"', 'stance = "allowed"')
    .replace('domains = ["example-platform.com"]', "{claim}")
)


def acme(claim: str) -> str:
    """A user's policy file named acme-social that claims `claim` (a TOML line)."""
    return ACME.replace("{claim}", claim)


@pytest.mark.parametrize(
    ("claim", "taken", "owner"),
    [
        ('hosts = ["twitter.com"]', "twitter.com", "twitter"),  # the bare domain, as a host
        ('hosts = ["api.twitter.com"]', "api.twitter.com", "twitter"),  # inside X's domain
        ('domains = ["wixmp.com"]', "wixmp.com", "deviantart"),  # around DeviantArt's host
    ],
    ids=["host-is-a-claimed-domain", "host-in-a-claimed-domain", "domain-around-a-claimed-host"],
)
def test_a_user_policy_may_not_take_another_platforms_hosts(
    tmp_path: Path, claim: str, taken: str, owner: str
) -> None:
    from polite_crawl.policy.loader import bundled_dir, load_all

    path = write_policy(tmp_path, acme(claim), "acme-social")

    with pytest.raises(PolicyError) as err:
        Resolver(load_all([tmp_path]).values())

    message = str(err.value)
    assert str(path) in message
    assert str(bundled_dir() / f"{owner}.toml") in message
    assert repr(taken) in message
    assert "\n" not in message  # one line: the start-up ERROR line says it all


def test_two_user_policies_may_not_share_a_domain_by_host(tmp_path: Path) -> None:
    write_policy(tmp_path, GOOD)
    other = GOOD.replace('id = "example"', 'id = "second"').replace(
        'domains = ["example-platform.com"]', 'hosts = ["cdn.example-platform.com"]'
    )
    write_policy(tmp_path, other, "second")

    with pytest.raises(PolicyError, match=r"'cdn\.example-platform\.com'.*example\.toml"):
        Resolver(load_dir(tmp_path))


def test_a_policy_may_name_a_host_inside_its_own_domain(tmp_path: Path) -> None:
    write_policy(tmp_path, GOOD.replace("]", ']\nhosts = ["cdn.example-platform.com"]', 1))

    resolver = Resolver(load_dir(tmp_path))

    found = resolver.resolve("cdn.example-platform.com")
    assert found is not None
    assert found.id == "example"


def test_an_override_keeps_the_shipped_carve_outs(tmp_path: Path) -> None:
    # yt3.ggpht.com is YouTube's inside Google's ggpht.com: a carve-out the project ships. A
    # user's own youtube.toml (same id) replaces the shipped file and may keep it.
    from polite_crawl.policy.loader import bundled_dir, load_all

    text = (bundled_dir() / "youtube.toml").read_text()
    path = write_policy(
        tmp_path, text.replace('stance = "consent-required"', 'stance = "allowed"'), "youtube"
    )

    resolver = Resolver(load_all([tmp_path]).values())

    found = resolver.resolve("yt3.ggpht.com")
    assert found is not None
    assert (found.id, found.path) == ("youtube", path)
    google = resolver.resolve("lh3.ggpht.com")
    assert google is not None
    assert google.id == "google"


def test_an_override_may_not_add_a_carve_out(tmp_path: Path) -> None:
    from polite_crawl.policy.loader import bundled_dir, load_all

    text = (bundled_dir() / "youtube.toml").read_text()
    write_policy(tmp_path, text.replace('hosts = ["', 'hosts = ["lh3.ggpht.com", "', 1), "youtube")

    with pytest.raises(PolicyError, match=r"'lh3\.ggpht\.com'.*google\.toml"):
        Resolver(load_all([tmp_path]).values())


def test_the_crawl_refuses_a_policy_that_takes_another_platforms_host(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path
) -> None:
    # An ai-training crawl through a policy that claims X's host: X's own policy prohibits
    # ai-training, and X's export would look clean while logs/acme-social/ held the fetches.
    from polite_crawl.policy.loader import bundled_dir

    mine = tmp_path / "mine"
    path = write_policy(mine, acme('hosts = ["twitter.com"]'), "acme-social")
    mockweb.add("https://twitter.com/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
    mockweb.add("https://twitter.com/someone", page())

    result = crawl(
        ["https://twitter.com/someone"],
        {"POLITE_CRAWL_PURPOSES": ["ai-training"], "POLITE_CRAWL_POLICY_DIRS": [str(mine)]},
    )

    assert mockweb.hits == []  # not even robots.txt
    assert result.returncode != 0
    # One line of ours says why (Scrapy adds its own traceback of the refused start).
    errors = [line for line in result.log.splitlines() if "ERROR: polite_crawl" in line]
    assert len(errors) == 1, errors
    assert "polite_crawl: the crawl cannot start: " in errors[0]
    assert str(path) in errors[0]
    assert str(bundled_dir() / "twitter.toml") in errors[0]
    assert result.audit == []


def test_policies_validate_checks_claims_against_the_shipped_policies(tmp_path: Path) -> None:
    write_policy(tmp_path, acme('hosts = ["api.twitter.com"]'), "acme-social")

    proc = run_cli("policies", "validate", str(tmp_path))

    assert proc.returncode == 1
    assert "acme-social.toml: field hosts: 'api.twitter.com'" in proc.stderr
    assert "twitter.toml" in proc.stderr


def test_policies_validate_command(tmp_path: Path) -> None:
    write_policy(tmp_path, BROKEN_POLICIES["unknown-field"][0])
    proc = run_cli("policies", "validate", str(tmp_path))
    good = run_cli("policies", "validate", "policies")

    assert proc.returncode == 1
    assert "example.toml: field colour: Extra inputs are not permitted" in proc.stderr
    assert good.returncode == 0, good.stderr
    assert f"{len(list(bundled_dir().glob('*.toml')))} policy files valid" in good.stdout


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
            "POLITE_CRAWL_POLICY_DIRS = ['/nonexistent/policies']: not a directory: "
            "/nonexistent/policies",
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
