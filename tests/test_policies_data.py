"""The shipped policy files: complete, valid, and resolving every host they claim."""

from __future__ import annotations

import datetime

import pytest

from polite_crawl.policy import psl
from polite_crawl.policy.loader import bundled_dir, load_all
from polite_crawl.policy.model import Grade, Stance
from polite_crawl.policy.resolver import Resolver

DESIGN_IDS = {
    "twitter",
    "facebook",
    "instagram",
    "threads",
    "linkedin",
    "reddit",
    "youtube",
    "google",
    "tiktok",
    "pinterest",
    "flickr",
    "wikimedia",
    "github",
    "stackexchange",
    "tumblr",
    "medium",
    "quora",
    "deviantart",
    "artstation",
    "getty",
    "shutterstock",
    "venmo",
    # Issue #19's new platforms, each with sourced clauses.
    "mastodon",
    "vimeo",
    "vk",
    "tinder",
    "snapchat",
    "bluesky",
    "discord",
    "twitch",
    "weibo",
    "imgur",
}
POLICIES = load_all()
RESOLVER = Resolver(POLICIES.values())
CLAIMS = [(p.id, d) for p in POLICIES.values() for d in (*p.policy.domains, *p.policy.hosts)]


def test_one_file_per_platform_of_the_design() -> None:
    assert set(POLICIES) == DESIGN_IDS
    assert all(p.path.parent == bundled_dir() for p in POLICIES.values())


@pytest.mark.parametrize(("policy_id", "host"), CLAIMS, ids=[f"{i}:{h}" for i, h in CLAIMS])
def test_every_claimed_host_resolves_to_its_policy(policy_id: str, host: str) -> None:
    resolved = RESOLVER.resolve(host)
    assert resolved is not None
    assert resolved.id == policy_id


@pytest.mark.parametrize(
    ("policy_id", "domain"), [(p.id, d) for p in POLICIES.values() for d in p.policy.domains]
)
def test_subdomains_of_a_claimed_domain_resolve_too(policy_id: str, domain: str) -> None:
    resolved = RESOLVER.resolve(f"cdn-7.static.{domain}")
    assert resolved is not None
    assert resolved.id == policy_id


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("pbs.twimg.com", "twitter"),
        ("t.co", "twitter"),
        ("scontent-lhr8-1.xx.fbcdn.net", "facebook"),
        ("media.licdn.com", "linkedin"),
        ("i.redd.it", "reddit"),
        ("yt3.ggpht.com", "youtube"),
        ("lh3.ggpht.com", "google"),
        ("user.github.io", "github"),
        ("WWW.Pinterest.co.uk.", "pinterest"),
        ("en.m.wikipedia.org", "wikimedia"),
        ("images-wixmp-ed30a86b8c4ca887773594c2.wixmp.com", "deviantart"),
        ("other-tenant.wixmp.com", None),
        ("imgur.com", "imgur"),
        ("i.stack.imgur.com", "stackexchange"),  # a carve-out the project ships
        ("tvax1.sinaimg.cn", "weibo"),
        ("n.sinaimg.cn", None),  # Sina's shared CDN: only Weibo's own hosts are claimed
        ("morel.us-east.host.bsky.network", "bluesky"),
        ("supervisor.ext-twitch.tv", None),  # extensions: third-party developers' hosts
        ("media.discordapp.net", "discord"),
        ("files.mastodon.social", "mastodon"),
        ("mastodon.online", None),  # another instance: its own terms, not claimed
        ("i.vimeocdn.com", "vimeo"),
        ("blog.test", None),
    ],
)
def test_resolution_examples(host: str, expected: str | None) -> None:
    resolved = RESOLVER.resolve(host)
    assert (resolved.id if resolved else None) == expected


def test_aliases() -> None:
    assert RESOLVER.get("x") is RESOLVER.get("twitter")
    assert RESOLVER.get("wikipedia") is RESOLVER.get("wikimedia")


def test_suffix_list_is_the_bundled_snapshot() -> None:
    # Never a download, never a cache directory: the test process's network guard would fail
    # any lookup, and every resolution above ran under it.
    extract = psl.snapshot_extractor()
    assert extract.suffix_list_urls == ()
    assert extract._cache.enabled is False  # no cache directory is read or written


@pytest.mark.parametrize("loaded", list(POLICIES.values()), ids=list(POLICIES))
def test_every_rule_cites_a_dated_source(loaded: object) -> None:
    from polite_crawl.policy.loader import LoadedPolicy

    assert isinstance(loaded, LoadedPolicy)
    policy = loaded.policy
    assert policy.reviewed <= datetime.date(2026, 12, 31)
    for rule in [policy.access, *policy.purposes.values()]:
        source = policy.source(rule.source)
        assert source.url.startswith("https://")
        assert source.date.year >= 2020
        assert rule.clause


def test_unverified_facts_are_marked() -> None:
    grades = {
        p.id: (p.policy.access.grade or p.policy.source(p.policy.access.source).grade)
        for p in POLICIES.values()
    }

    assert grades["deviantart"] is Grade.UNVERIFIED
    assert grades["getty"] is Grade.UNVERIFIED
    assert grades["twitter"] is Grade.VERIFIED


def test_the_clearview_platforms_refuse_facial_recognition() -> None:
    from polite_crawl.core.purposes import Purpose

    for pid in ("twitter", "facebook", "instagram", "linkedin", "reddit"):
        rule = POLICIES[pid].policy.rule_for(Purpose.FACIAL_RECOGNITION)
        assert rule.stance is Stance.PROHIBITED, pid
    # YouTube's Terms except what YouTube permits in writing: a grant may open it, nothing else.
    for pid in ("youtube", "venmo"):
        rule = POLICIES[pid].policy.rule_for(Purpose.FACIAL_RECOGNITION)
        assert rule.stance is Stance.CONSENT_REQUIRED, pid


@pytest.mark.parametrize("loaded", list(POLICIES.values()), ids=list(POLICIES))
def test_every_source_quotes_its_text_or_says_why_not(loaded: object) -> None:
    from polite_crawl.policy.loader import LoadedPolicy

    assert isinstance(loaded, LoadedPolicy)
    for source in loaded.policy.sources:
        assert (source.quote is None) != (source.no_quote is None), source.id
        if source.grade is Grade.VERIFIED:
            # Checked against the platform's text: the sentence it was checked against is here.
            assert source.quote, source.id


@pytest.mark.parametrize("loaded", list(POLICIES.values()), ids=list(POLICIES))
def test_no_file_cites_a_text_that_is_not_shipped(loaded: object) -> None:
    from polite_crawl.policy.loader import LoadedPolicy

    assert isinstance(loaded, LoadedPolicy)
    text = loaded.raw.decode()
    # The project's research notes are not in the wheel: a reader of the file could not check them.
    for unshipped in ("platforms.md", "shared/", "policy-review.md"):
        assert unshipped not in text
