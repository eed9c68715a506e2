"""A spider cannot weaken what the project's settings turned on: its `custom_settings` (Scrapy's
'spider' priority, above 'project') may not switch the gate off, lower the enforcement mode or
drop checks. Such a crawl refuses to start before its first request, with one ERROR line; the
command line (the operator) still decides over both. Real crawls, judged from the mock web's
record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from polite_crawl.settings import UNSET
from polite_crawl.testing.mockweb import MockWeb, Resp, page

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from polite_crawl.testing.crawl import CrawlResult

    Crawl = Callable[..., CrawlResult]

SITE = "http://site.test"

SPIDER = """
import scrapy

class Custom(scrapy.Spider):
    name = "custom"
    custom_settings = {custom!r}

    async def start(self):
        yield scrapy.Request("http://site.test/private/page")
"""

GRANT = """
[[grant]]
id = "mine"
platform = "reddit"
purposes = ["archiving"]
granted_by = "nobody"
evidence_url = "https://example.org/grant.pdf"
evidence_sha256 = "%s"
valid_from = 2026-01-01
valid_until = 2036-12-31
""" % ("ab" * 32)


def serve(web: MockWeb) -> None:
    web.add(SITE + "/robots.txt", Resp(body="User-agent: *\nDisallow: /private\n"))
    web.add(SITE + "/private/page", page())


def ours(log: str) -> list[str]:
    return [line for line in log.splitlines() if "ERROR: polite_crawl" in line]


@pytest.mark.parametrize(
    ("project", "custom", "message"),
    [
        (
            {},
            {"POLITE_CRAWL_ENABLED": False},
            "POLITE_CRAWL_ENABLED = False (the project's: True)",
        ),
        (
            {},
            {"POLITE_CRAWL_MODE": "report"},
            "POLITE_CRAWL_MODE = 'report' (the project's: 'enforce')",
        ),
        (
            {},
            {"POLITE_CRAWL_AUDIT_DURABILITY": "none"},
            "POLITE_CRAWL_AUDIT_DURABILITY = 'none' (the project's: 'fsync')",
        ),
        (
            {"POLITE_CRAWL_PURPOSES": ["archiving", "research"]},
            {"POLITE_CRAWL_PURPOSES": ["research", "ai-input"]},
            "POLITE_CRAWL_PURPOSES = ['research', 'ai-input'] (the project's: "
            "['archiving', 'research'])",
        ),
        (
            {"POLITE_CRAWL_AUDIT_REDACT_PARAMS": ["token", "sig"]},
            {"POLITE_CRAWL_AUDIT_REDACT_PARAMS": ["token"]},
            "POLITE_CRAWL_AUDIT_REDACT_PARAMS = ['token'] (the project's: ['token', 'sig'])",
        ),
        ({}, {"POLITE_CRAWL_CONSENTS": "{tmp}/consents.toml"}, "POLITE_CRAWL_CONSENTS = "),
        ({}, {"POLITE_CRAWL_POLICY_DIRS": ["{tmp}/policies"]}, "POLITE_CRAWL_POLICY_DIRS = "),
        (
            {},
            {"POLITE_CRAWL_ROBOTS_CACHE_PATH": "{tmp}/robots.sqlite"},
            "POLITE_CRAWL_ROBOTS_CACHE_PATH = ",
        ),
        (
            {},
            {"POLITE_CRAWL_ROBOTS_PARSE_LIMIT": 512000},
            "POLITE_CRAWL_ROBOTS_PARSE_LIMIT = 512000 (the project's: 524288)",
        ),
        (
            {"POLITE_CRAWL_ROBOTS_CACHE_TTL": 3600},
            {"POLITE_CRAWL_ROBOTS_CACHE_TTL": 86400},
            "POLITE_CRAWL_ROBOTS_CACHE_TTL = 86400.0 (the project's: 3600.0)",
        ),
        (
            {},
            {"POLITE_CRAWL_ROBOTS_MAX_CRAWL_DELAY": 0},
            "POLITE_CRAWL_ROBOTS_MAX_CRAWL_DELAY = 0.0 (the project's: 60.0)",
        ),
        (
            {"POLITE_CRAWL_ALLOW_INTERNAL_NETWORKS": ["10.20.0.0/16"]},
            {"POLITE_CRAWL_ALLOW_INTERNAL_NETWORKS": ["10.20.1.0/24", "169.254.169.254/32"]},
            "POLITE_CRAWL_ALLOW_INTERNAL_NETWORKS = ['10.20.1.0/24', '169.254.169.254/32'] "
            "(the project's: ['10.20.0.0/16'])",
        ),
        (
            {"POLITE_CRAWL_WEB_BOT_AUTH": True},
            {"POLITE_CRAWL_WEB_BOT_AUTH": False},
            "POLITE_CRAWL_WEB_BOT_AUTH = False (the project's: True) sends requests unsigned",
        ),
        (
            {"POLITE_CRAWL_SIGNATURE_AGENT": "https://crawler.example.org"},
            {"POLITE_CRAWL_SIGNATURE_AGENT": "https://other.example"},
            "POLITE_CRAWL_SIGNATURE_AGENT = 'https://other.example' (the project's: "
            "'https://crawler.example.org')",
        ),
        (
            {},
            {"POLITE_CRAWL_SIGNATURE_TTL": 3600},
            "POLITE_CRAWL_SIGNATURE_TTL = 3600.0 (the project's: 60.0)",
        ),
        (
            {},
            {"POLITE_CRAWL_BOT_AUTH_KEY": "{tmp}/mine.key"},
            "mine.key' (the project's: None) signs with another key than the project's",
        ),
    ],
    ids=[
        "gate-off",
        "report-mode",
        "no-fsync",
        "other-purposes",
        "fewer-redactions",
        "own-consents",
        "own-policies",
        "own-robots-cache",
        "smaller-parse-limit",
        "longer-robots-ttl",
        "lower-crawl-delay-cap",
        "more-internal-networks",
        "unsigned",
        "other-signature-agent",
        "longer-signature-ttl",
        "own-bot-auth-key",
    ],
)
def test_a_spider_cannot_weaken_the_project_settings(
    mockweb: MockWeb,
    crawl: Crawl,
    tmp_path: Path,
    project: dict[str, Any],
    custom: dict[str, Any],
    message: str,
) -> None:
    from polite_crawl.policy.loader import bundled_dir

    serve(mockweb)
    (tmp_path / "consents.toml").write_text(GRANT)
    (tmp_path / "policies").mkdir()
    x = (bundled_dir() / "twitter.toml").read_text()
    (tmp_path / "policies" / "twitter.toml").write_text(x.replace("consent-required", "allowed"))
    custom = {
        k: [p.format(tmp=tmp_path) for p in v]
        if isinstance(v, list)
        else v.format(tmp=tmp_path)
        if isinstance(v, str)
        else v
        for k, v in custom.items()
    }

    result = crawl([], project, spider_code=SPIDER.format(custom=custom))

    assert mockweb.hits == []  # not even robots.txt
    assert result.returncode != 0
    errors = ours(result.log)
    assert len(errors) == 1, errors
    assert "the crawl cannot start: the spider's custom_settings may not weaken" in errors[0]
    assert message in errors[0]
    assert result.audit == []


def test_a_spider_may_narrow_the_purposes_and_strengthen_the_mode(
    mockweb: MockWeb, crawl: Crawl, tmp_path: Path
) -> None:
    serve(mockweb)
    custom = {
        "POLITE_CRAWL_PURPOSES": ["research"],
        "POLITE_CRAWL_MODE": "enforce",
        "POLITE_CRAWL_AUDIT_DIR": str(tmp_path / "its-own-audit"),
        "POLITE_CRAWL_ROBOTS_MAX_CRAWL_DELAY": 120,
        "POLITE_CRAWL_ALLOW_INTERNAL_NETWORKS": ["10.20.1.0/24"],
    }
    project = {
        "POLITE_CRAWL_PURPOSES": ["archiving", "research"],
        "POLITE_CRAWL_MODE": "report",
        "POLITE_CRAWL_ALLOW_INTERNAL_NETWORKS": ["10.20.0.0/16"],
    }

    result = crawl([], project, spider_code=SPIDER.format(custom=custom))

    assert result.returncode == 0, result.log
    assert mockweb.urls() == [SITE + "/robots.txt"]  # enforced: /private is refused
    decisions = [r for r in result.audit if r.get("type") == "decision"]
    assert decisions == []  # the spider's own audit directory has them
    assert (tmp_path / "its-own-audit" / "logs" / "_sites" / "entries.jsonl").exists()


def test_the_command_line_decides_over_the_spider(mockweb: MockWeb, crawl: Crawl) -> None:
    # The operator's -s is above both: a spider's value that the command line gives too stands.
    serve(mockweb)
    custom = {"POLITE_CRAWL_MODE": "report"}

    result = crawl(
        [], spider_code=SPIDER.format(custom=custom), args=["-s", "POLITE_CRAWL_MODE=report"]
    )

    assert result.returncode == 0, result.log
    assert mockweb.fetched(SITE + "/private/page")  # report-only: let through, recorded
    decision = next(r for r in result.audit if r.get("type") == "decision")
    assert (decision["reason"], decision["enforced"]) == ("robots.disallowed", False)


def test_a_project_that_turned_the_gate_off_stays_off(mockweb: MockWeb, crawl: Crawl) -> None:
    serve(mockweb)
    custom = {"POLITE_CRAWL_ENABLED": False}

    result = crawl([], {"POLITE_CRAWL_ENABLED": False}, spider_code=SPIDER.format(custom=custom))

    assert result.returncode == 0, result.log
    assert "polite_crawl is disabled" in result.log
    assert mockweb.urls() == [SITE + "/private/page"]


# A site that writes robots.txt for the project's crawler by name: another token dodges it.
ROBOTS_FOR_EXAMPLEBOT = "User-agent: examplebot\nDisallow: /private\n"

SPIDER_WITH_UA = """
import scrapy

class Custom(scrapy.Spider):
    name = "custom"
    user_agent = {ua!r}

    async def start(self):
        yield scrapy.Request("http://site.test/private/page")
"""


@pytest.mark.parametrize(
    "spider",
    [
        SPIDER.format(custom={"USER_AGENT": "otherbot/1.0 (+https://example.org/bot)"}),
        SPIDER.format(
            custom={
                "POLITE_CRAWL_USER_AGENT_TOKEN": "otherbot",
                "USER_AGENT": "otherbot/1.0 (like examplebot/1.0)",
            }
        ),
        SPIDER_WITH_UA.format(ua="otherbot/1.0 (+https://example.org/bot)"),
    ],
    ids=["custom-settings-ua", "custom-settings-token", "spider-attribute"],
)
def test_a_spider_cannot_change_the_robots_txt_product_token(
    mockweb: MockWeb, crawl: Crawl, spider: str
) -> None:
    mockweb.add(SITE + "/robots.txt", Resp(body=ROBOTS_FOR_EXAMPLEBOT))
    mockweb.add(SITE + "/private/page", page())

    result = crawl([], spider_code=spider)  # the project's USER_AGENT: examplebot/1.0 (...)

    assert mockweb.hits == []  # not even robots.txt
    assert result.returncode != 0
    errors = ours(result.log)
    assert len(errors) == 1, errors
    assert (
        "has the robots.txt product token 'otherbot', the project's settings 'examplebot'"
        in errors[0]
    )
    assert result.audit == []


def test_a_spider_may_change_its_user_agent_but_keep_the_token(
    mockweb: MockWeb, crawl: Crawl
) -> None:
    mockweb.add(SITE + "/robots.txt", Resp(body=ROBOTS_FOR_EXAMPLEBOT))
    mockweb.add(SITE + "/private/page", page())
    ua = "ExampleBot/2.0 (+https://example.org/bot; news)"

    result = crawl([], spider_code=SPIDER_WITH_UA.format(ua=ua))

    assert result.returncode == 0, result.log
    assert mockweb.urls() == [SITE + "/robots.txt"]  # robots.txt's examplebot group holds
    assert mockweb.hits[0].headers["user-agent"] == ua
    decision = next(r for r in result.audit if r.get("type") == "decision")
    assert decision["reason"] == "robots.disallowed"


PROCESS_SCRIPT = """
import json
import sys

from scrapy.crawler import CrawlerProcess

from polite_crawl.testing.crawl import BASE_SETTINGS
{spider}

process = CrawlerProcess({{**BASE_SETTINGS, **json.loads(sys.argv[1])}})
process.crawl(Custom)
process.start()
print("bootstrap_failed =", process.bootstrap_failed)
sys.exit(1 if process.bootstrap_failed else 0)
"""


@pytest.mark.parametrize("how", ["scrapy crawl", "CrawlerProcess"])
def test_the_spider_is_held_to_the_project_settings_however_it_runs(
    mockweb: MockWeb, tmp_path: Path, how: str
) -> None:
    from polite_crawl.testing.crawl import BASE_SETTINGS

    serve(mockweb)
    spider = SPIDER.format(custom={"POLITE_CRAWL_ENABLED": False})
    settings = {
        "POLITE_CRAWL_PURPOSES": ["archiving"],
        "POLITE_CRAWL_AUDIT_DIR": str(tmp_path / "audit"),
    }
    if how == "scrapy crawl":
        (tmp_path / "scrapy.cfg").write_text("[settings]\ndefault = proj.settings\n")
        (tmp_path / "proj" / "spiders").mkdir(parents=True)
        (tmp_path / "proj" / "__init__.py").write_text("")
        (tmp_path / "proj" / "spiders" / "__init__.py").write_text("")
        (tmp_path / "proj" / "spiders" / "custom.py").write_text(spider)
        merged = {**BASE_SETTINGS, "SPIDER_MODULES": ["proj.spiders"], **settings}
        lines = [f"{k} = {v!r}" for k, v in merged.items()]
        (tmp_path / "proj" / "settings.py").write_text("\n".join(lines) + "\n")
        cmd = [sys.executable, "-m", "scrapy", "crawl", "custom"]
    else:
        (tmp_path / "script.py").write_text(PROCESS_SCRIPT.format(spider=spider))
        cmd = [sys.executable, str(tmp_path / "script.py"), json.dumps(settings)]
    env = {**os.environ, **mockweb.env()}
    env.pop("SCRAPY_SETTINGS_MODULE", None)

    proc = subprocess.run(
        cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )

    assert mockweb.hits == []
    assert proc.returncode != 0, proc.stderr
    assert "POLITE_CRAWL_ENABLED = False (the project's: True) switches the gate off" in (
        proc.stderr
    )
    if how == "CrawlerProcess":
        assert "bootstrap_failed = True" in proc.stdout


# --- the note of the project's values, without a crawl ------------------------------------------


def _settings(project: dict[str, Any], spider: dict[str, Any], *, note: bool) -> Any:
    from scrapy.settings import Settings

    from polite_crawl.shell.project_settings import remember

    settings = Settings(project)  # 'project' priority, as a settings module gives
    if note:
        remember(settings)  # what update_pre_crawler_settings does for a CrawlerProcess
    settings.setdict(spider, priority="spider")  # what a spider's custom_settings do
    return settings


def test_the_note_keeps_the_project_value_and_ignores_what_the_spider_did_not_change() -> None:
    from polite_crawl.shell.addon import Addon
    from polite_crawl.shell.project_settings import changed_by_the_spider

    project = {"ADDONS": {"polite_crawl.Addon": 0}, "POLITE_CRAWL_MODE": "enforce"}
    settings = _settings(project, {"POLITE_CRAWL_MODE": "report", "OTHER": 1}, note=True)

    assert changed_by_the_spider(settings, Addon) == {"POLITE_CRAWL_MODE": "enforce"}


def test_without_the_note_a_spider_is_held_to_the_defaults() -> None:
    # A Crawler built by hand from settings no CrawlerProcess saw: fail closed.
    from polite_crawl.settings import SettingsError, from_mapping, refuse_weakening
    from polite_crawl.shell.addon import Addon
    from polite_crawl.shell.project_settings import changed_by_the_spider

    project = {"ADDONS": {"polite_crawl.Addon": 0}, "POLITE_CRAWL_PURPOSES": ["research"]}
    settings = _settings(project, {"POLITE_CRAWL_MODE": "report"}, note=False)
    changed = changed_by_the_spider(settings, Addon)

    with pytest.raises(SettingsError, match=r"POLITE_CRAWL_MODE = 'report' \(the project's: "):
        refuse_weakening(from_mapping(settings), changed)


def test_a_spider_that_enables_the_add_on_itself_sets_what_it_likes() -> None:
    from polite_crawl.shell.addon import Addon
    from polite_crawl.shell.project_settings import changed_by_the_spider

    spider = {"ADDONS": {"polite_crawl.Addon": 0}, "POLITE_CRAWL_MODE": "report"}
    settings = _settings({}, spider, note=False)

    assert changed_by_the_spider(settings, Addon) == {}


def test_purposes_the_project_never_declared_are_the_spiders_to_declare() -> None:
    from polite_crawl.settings import from_mapping, refuse_weakening

    final = from_mapping({"POLITE_CRAWL_PURPOSES": ["ai-training"]})

    refuse_weakening(final, {"POLITE_CRAWL_PURPOSES": UNSET})  # does not raise


def test_a_note_the_spider_wrote_itself_is_no_note() -> None:
    # Where no CrawlerProcess noted the project's values, a spider's custom_settings could set
    # the note's key (at 'spider' priority) to claim the project gave what the spider gives.
    from polite_crawl.shell.addon import Addon
    from polite_crawl.shell.project_settings import KEY, changed_by_the_spider

    project = {"ADDONS": {"polite_crawl.Addon": 0}}
    forged = {KEY: (("POLITE_CRAWL_MODE", "report", 30),), "POLITE_CRAWL_MODE": "report"}
    settings = _settings(project, forged, note=False)

    assert changed_by_the_spider(settings, Addon) == {"POLITE_CRAWL_MODE": UNSET}

    settings = _settings(project, forged, note=True)  # and where one did, it stays
    assert changed_by_the_spider(settings, Addon) == {"POLITE_CRAWL_MODE": UNSET}


@pytest.mark.parametrize(
    ("project", "token"),
    [
        ({}, None),  # Scrapy's default USER_AGENT: the project chose no identity
        ({"USER_AGENT": "Mozilla/5.0 (X11)"}, None),  # a browser string names no token
        ({"USER_AGENT": "examplebot/1.0 (+https://example.org/bot)"}, "examplebot"),
        (
            {
                "USER_AGENT": "Mozilla/5.0 (ExampleBot)",
                "POLITE_CRAWL_USER_AGENT_TOKEN": "ExampleBot",
            },
            "ExampleBot",
        ),
    ],
)
def test_the_project_product_token(project: dict[str, Any], token: str | None) -> None:
    from polite_crawl.shell.project_settings import project_product_token

    settings = _settings(project, {"USER_AGENT": "otherbot/1.0"}, note=True)

    assert project_product_token(settings) == token
