"""Platform policies and consent grants in real crawls, proven from the mock web's record."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from polite_crawl.testing.crawl import run_cli
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]

BLOG = "http://blog.test"
PLATFORM_SEEDS = [
    "https://x.com/someone",
    "https://www.facebook.com/someone",
    "https://www.instagram.com/p/1",
    "https://www.linkedin.com/in/someone",
    "https://www.youtube.com/@someone",
    "https://www.reddit.com/r/pics/",
]
PLATFORM_HOSTS = {
    "x.com",
    "www.facebook.com",
    "www.instagram.com",
    "www.linkedin.com",
    "www.youtube.com",
    "www.reddit.com",
    "pbs.twimg.com",
}


def serve_everything(web: MockWeb) -> None:
    """Every platform host answers as generously as possible: robots.txt allows all."""
    for seed in PLATFORM_SEEDS:
        origin = seed.split("/", 3)[:3]
        base = "/".join(origin)
        web.add(base + "/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
        web.add(seed, page(base + "/private/x", images=["https://pbs.twimg.com/media/face.jpg"]))
        web.add(base + "/private/x", page())
    web.add("https://pbs.twimg.com/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
    web.add(
        "https://pbs.twimg.com/media/face.jpg", Resp(body=b"\xff\xd8", content_type="image/jpeg")
    )
    web.add(BLOG + "/robots.txt", Resp(404))
    web.add(
        BLOG + "/",
        page("/about", "https://x.com/someone", images=["https://pbs.twimg.com/media/face.jpg"]),
    )
    web.add(BLOG + "/about", page())


def test_a_clearview_like_crawl_sends_nothing_to_the_platforms(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    serve_everything(mockweb)

    result = crawl(
        [*PLATFORM_SEEDS, BLOG + "/"], {"POLITE_CRAWL_PURPOSES": ["facial-recognition"]}
    )

    assert result.returncode == 0, result.log
    assert mockweb.hosts() == {"blog.test"}  # not even a robots.txt request to a platform
    assert mockweb.fetched(BLOG + "/about")
    denied = {r["url"]: r for r in result.audit if r.get("decision") == "deny"}
    assert set(denied) == {*PLATFORM_SEEDS, "https://pbs.twimg.com/media/face.jpg"}
    x = denied["https://x.com/someone"]
    assert x["platform"] == "twitter"
    assert x["reason"] == "tos.prohibited"
    assert x["evidence"]["tos"]["source"]["url"] == "https://docs.x.com/developer-terms/policy"
    assert len(x["evidence"]["tos"]["policy_sha256"]) == 64
    assert result.stat("polite_crawl/denied/tos.prohibited") == 6
    # YouTube's Terms let YouTube permit it in writing: refused for want of a grant.
    assert denied["https://www.youtube.com/@someone"]["reason"] == "tos.consent_required"


def grants(
    tmp_path: Path,
    *,
    platform: str = "reddit",
    purposes: str = '"research"',
    until: str = "2099-12-31",
    scope: str = "",
) -> str:
    path = tmp_path / "consents.toml"
    path.write_text(f"""
[[grant]]
id = "{platform}-grant"
platform = "{platform}"
purposes = [{purposes}]
{scope}
granted_by = "Data partnerships, {platform}"
evidence_url = "https://example.org/grants/{platform}.pdf"
evidence_sha256 = "{"0f" * 32}"
valid_from = 2026-01-01
valid_until = {until}
""")
    return str(path)


def serve_reddit(web: MockWeb) -> None:
    web.add("https://www.reddit.com/robots.txt", Resp(body="User-agent: *\nDisallow: /private\n"))
    web.add("https://www.reddit.com/r/science/", page("/private/modlog", "/r/science/top"))
    web.add("https://www.reddit.com/r/science/top", page())
    web.add("https://www.reddit.com/private/modlog", page())


def test_a_grant_opens_its_platform_subject_to_robots_txt(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path
) -> None:
    serve_everything(mockweb)
    serve_reddit(mockweb)

    result = crawl(
        ["https://www.reddit.com/r/science/", *PLATFORM_SEEDS[:5]],
        {"POLITE_CRAWL_PURPOSES": ["research"], "POLITE_CRAWL_CONSENTS": grants(tmp_path)},
    )

    assert result.returncode == 0, result.log
    assert mockweb.hosts() == {"www.reddit.com"}
    assert mockweb.fetched("https://www.reddit.com/r/science/top")
    assert not mockweb.fetched("https://www.reddit.com/private/modlog")  # robots.txt still rules
    record = next(
        r for r in result.audit if r.get("url") == "https://www.reddit.com/r/science/top"
    )
    assert record["evidence"]["tos"]["consent"]["grant"] == "reddit-grant"
    # x, linkedin, youtube need their own consent; Meta's terms prohibit research on facebook
    # and instagram outright.
    assert result.stat("polite_crawl/denied/tos.consent_required") == 3
    assert result.stat("polite_crawl/denied/tos.prohibited") == 2


def test_a_grant_does_not_cover_a_purpose_it_excludes(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path
) -> None:
    serve_reddit(mockweb)

    result = crawl(
        ["https://www.reddit.com/r/science/"],
        {
            "POLITE_CRAWL_PURPOSES": ["research", "ai-training"],
            "POLITE_CRAWL_CONSENTS": grants(tmp_path),
        },
    )

    assert mockweb.hits == []
    record = next(r for r in result.audit if r.get("decision") == "deny")
    assert record["reason"] == "tos.consent_required"
    assert record["evidence"]["tos"]["consent"] == (
        "grant 'reddit-grant' does not cover the purpose ai-training"
    )


def test_a_grant_cannot_open_a_prohibited_purpose(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path
) -> None:
    serve_everything(mockweb)

    result = crawl(
        ["https://x.com/someone"],
        {
            "POLITE_CRAWL_PURPOSES": ["facial-recognition"],
            "POLITE_CRAWL_CONSENTS": grants(
                tmp_path, platform="x", purposes='"facial-recognition"'
            ),
        },
    )

    assert mockweb.hits == []
    assert result.stat("polite_crawl/denied/tos.prohibited") == 1


def test_expired_and_out_of_scope_grants_do_not_apply(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path
) -> None:
    serve_reddit(mockweb)
    expired = grants(tmp_path, until="2026-01-31")
    result = crawl(
        ["https://www.reddit.com/r/science/"],
        {"POLITE_CRAWL_PURPOSES": ["research"], "POLITE_CRAWL_CONSENTS": expired},
    )
    scoped = grants(tmp_path, scope='scope = ["https://www.reddit.com/r/history/"]')
    result2 = crawl(
        ["https://www.reddit.com/r/science/"],
        {"POLITE_CRAWL_PURPOSES": ["research"], "POLITE_CRAWL_CONSENTS": scoped},
    )

    assert mockweb.hits == []
    reasons = [
        r["evidence"]["tos"]["consent"]
        for res in (result, result2)
        for r in res.audit
        if r.get("decision") == "deny"
    ]
    assert reasons[0].startswith("grant 'reddit-grant' is not in force on ")
    assert reasons[1] == "grant 'reddit-grant' does not cover this URL"


def test_a_required_contact_is_enforced(mockweb: MockWeb, crawl: Crawl) -> None:
    mockweb.add("https://en.wikipedia.org/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
    mockweb.add("https://en.wikipedia.org/wiki/Crawler", page())
    url = ["https://en.wikipedia.org/wiki/Crawler"]

    without = crawl(url)
    unnamed = crawl(url, {"POLITE_CRAWL_CONTACT": "mailto:ops@example.org"})
    named = crawl(
        url,
        {
            "POLITE_CRAWL_CONTACT": "mailto:ops@example.org",
            "USER_AGENT": "examplebot/1.0 (ops@example.org)",
        },
    )

    assert without.stat("polite_crawl/denied/tos.contact_required") == 1
    assert unnamed.stat("polite_crawl/denied/tos.contact_required") == 1
    problem = next(r for r in unnamed.audit if r.get("decision") == "deny")
    assert problem["evidence"]["requirements"]["problem"] == (
        "USER_AGENT does not name POLITE_CRAWL_CONTACT"
    )
    assert named.stat("polite_crawl/allowed") == 1
    assert mockweb.urls() == ["https://en.wikipedia.org/robots.txt", url[0]]


SLOW_POLICY = """
id = "slowsite"
name = "Slow Site"
reviewed = 2019-01-01
domains = ["slow.test"]

[access]
stance = "allowed"
source = "terms"
clause = "Robots are welcome at one request per half second."
min_delay = 0.5

[[sources]]
id = "terms"
title = "Slow Site terms"
url = "https://slow.test/terms"
date = 2019-01-01
grade = "verified"
"""


def test_a_policy_minimum_delay_slows_the_crawl_and_old_policies_warn(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path
) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "slowsite.toml").write_text(SLOW_POLICY)
    mockweb.add("http://slow.test/robots.txt", Resp(404))
    urls = [f"http://slow.test/{i}" for i in range(4)]
    for url in urls:
        mockweb.add(url, page())

    result = crawl(
        urls, {"POLITE_CRAWL_POLICY_DIRS": [str(tmp_path / "mine")], "CONCURRENT_REQUESTS": 16}
    )

    assert result.returncode == 0, result.log
    times = [h.at for h in mockweb.hits if h.path != "/robots.txt"]
    assert len(times) == 4
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.45
    assert "slowsite.toml (reviewed 2019-01-01) is older than POLITE_CRAWL_POLICY_MAX_AGE" in (
        result.log
    )
    record = next(r for r in result.audit if r.get("type") == "decision")
    assert record["platform"] == "slowsite"
    assert record["evidence"]["requirements"]["min_delay"] == 0.5


def test_a_user_policy_overrides_a_bundled_one_by_id(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path
) -> None:
    from polite_crawl.policy.loader import bundled_dir

    mine = tmp_path / "mine"
    mine.mkdir()
    text = (bundled_dir() / "twitter.toml").read_text()
    (mine / "twitter.toml").write_text(
        text.replace('stance = "consent-required"', 'stance = "allowed"', 1)
    )
    serve_everything(mockweb)

    result = crawl(["https://x.com/someone"], {"POLITE_CRAWL_POLICY_DIRS": [str(mine)]})

    assert result.returncode == 0, result.log
    assert mockweb.fetched("https://x.com/someone")


def test_check_names_the_x_policy_clause_source_and_date(tmp_path: Path) -> None:
    proc = run_cli(
        "check",
        "https://pbs.twimg.com/media/x.jpg",
        "--purpose",
        "facial-recognition",
        cwd=tmp_path,
    )

    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert "decision   DENY  (tos.prohibited)" in out
    assert "policy     twitter" in out
    assert "clause     X's restricted uses forbid facial recognition" in out
    assert "https://docs.x.com/developer-terms/policy (text of 2026-04-27, verified)" in out


def test_via_names_the_linking_page_only_within_its_platform(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path
) -> None:
    # A platform's log must not name other sites' pages, nor a site's log the platform's.
    mine = tmp_path / "mine"
    mine.mkdir()
    policy = SLOW_POLICY.replace("min_delay = 0.5\n", "")
    # .test is no public suffix: the platform's other host is claimed by name.
    policy = policy.replace(
        'domains = ["slow.test"]', 'domains = ["slow.test"]\nhosts = ["cdn.slow.test"]'
    )
    (mine / "slowsite.toml").write_text(policy)
    mockweb.add(BLOG + "/robots.txt", Resp(404))
    mockweb.add("http://slow.test/robots.txt", Resp(404))
    mockweb.add("http://cdn.slow.test/robots.txt", Resp(404))
    mockweb.add(BLOG + "/", page("/same", "http://slow.test/a"))
    mockweb.add(BLOG + "/same", page())
    mockweb.add("http://slow.test/a", page("/b", "http://cdn.slow.test/c", BLOG + "/d"))
    for url in ("http://slow.test/b", "http://cdn.slow.test/c", BLOG + "/d"):
        mockweb.add(url, page())

    result = crawl([BLOG + "/"], {"POLITE_CRAWL_POLICY_DIRS": [str(mine)]})

    assert result.returncode == 0, result.log
    via = {r["url"]: r["via"] for r in result.audit if r.get("type") == "decision"}
    assert via == {
        BLOG + "/": None,  # a start URL
        BLOG + "/same": BLOG + "/",
        "http://slow.test/a": None,  # linked from a site: the platform's log does not say
        "http://slow.test/b": "http://slow.test/a",
        "http://cdn.slow.test/c": "http://slow.test/a",  # another host of the same platform
        BLOG + "/d": None,  # linked from the platform: the sites' log does not say
    }
