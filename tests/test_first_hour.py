"""A new Scrapy user's first hour, scripted: `scrapy startproject`, the README's quick start as
written, a crawl from the project root and from a sub-folder, then the usual mistakes. Every
message a mistake gets must name the setting and carry no traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from polite_crawl.testing.crawl import run_scrapy as scrapy
from polite_crawl.testing.mockweb import MockWeb, Resp, page

ROOT = Path(__file__).resolve().parent.parent
WIKI = "https://en.wikipedia.org"  # Wikimedia: its policy requires a contact in the User-Agent
SITE = "http://site.test"

SPIDER = f"""
import scrapy


class Wiki(scrapy.Spider):
    name = "wiki"

    async def start(self):
        yield scrapy.Request("{WIKI}/wiki/Web_crawler")
        yield scrapy.Request("{SITE}/")

    def parse(self, response):
        yield {{"url": response.url}}
"""

# What no message a user sees may contain: a traceback, pydantic's, Python's or Twisted's
# internals, a class object where Scrapy's "Enabled ..." lines list dotted paths.
NOISE = (
    "Traceback",
    "Task exception was never retrieved",
    "Value error,",
    "<Purpose.",
    "Errno 0",
    "<class '",
    "Unhandled error in Deferred",
    "twisted.python.failure.Failure",
)


def quick_start() -> str:
    """The README's quick-start settings block, as written."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


@pytest.fixture
def project(tmp_path: Path, mockweb: MockWeb) -> Path:
    made = scrapy(tmp_path, mockweb, "startproject", "tutorial")
    assert made.returncode == 0, made.stderr
    root = tmp_path / "tutorial"
    with (root / "tutorial" / "settings.py").open("a") as fh:
        fh.write("\n" + quick_start())
        fh.write("TELNETCONSOLE_ENABLED = False\nDOWNLOAD_DELAY = 0\n")
    (root / "tutorial" / "spiders" / "wiki.py").write_text(SPIDER)
    mockweb.add(WIKI + "/robots.txt", Resp(body="User-agent: *\nAllow: /\n"))
    mockweb.add(WIKI + "/wiki/Web_crawler", page())
    mockweb.add(SITE + "/robots.txt", Resp(404))
    mockweb.add(SITE + "/", page())
    return root


def clean(log: str) -> None:
    for noise in NOISE:
        assert noise not in log, log


def fingerprint(log: str) -> str:
    found = re.search(r"signing key sha256:([0-9a-f]{64})", log)
    assert found is not None, log
    return found.group(1)


def test_the_quick_start_as_written_crawls_wikimedia_from_root_and_sub_folder(
    project: Path, mockweb: MockWeb
) -> None:
    first = scrapy(project, mockweb, "crawl", "wiki")

    assert first.returncode == 0, first.stderr
    assert mockweb.fetched(WIKI + "/wiki/Web_crawler"), first.stderr  # contact named
    assert "tos.contact_required" not in first.stderr
    audit = project / "polite_crawl_audit"
    key = fingerprint(first.stderr)
    # A new key is a WARNING naming its fingerprint and where it is.
    assert (
        f"WARNING: polite_crawl: created a NEW log-signing key sha256:{key} at "
        f"{audit / 'signing.key'}" in first.stderr
    )
    assert f"audit log in {audit}," in first.stderr  # absolute
    clean(first.stderr)

    # From the package's spiders folder: the same directory, the same key, no new one.
    inner = project / "tutorial" / "spiders"
    second = scrapy(inner, mockweb, "crawl", "wiki")

    assert second.returncode == 0, second.stderr
    assert fingerprint(second.stderr) == key
    assert f"audit log in {audit}," in second.stderr
    assert "NEW log-signing key" not in second.stderr
    assert not (inner / "polite_crawl_audit").exists()
    assert not (project / "tutorial" / "polite_crawl_audit").exists()
    clean(second.stderr)


def test_relative_consents_resolve_against_the_project_root(
    project: Path, mockweb: MockWeb
) -> None:
    (project / "consents.toml").write_text("")
    inner = project / "tutorial" / "spiders"

    proc = scrapy(inner, mockweb, "crawl", "wiki", "-s", "POLITE_CRAWL_CONSENTS=consents.toml")

    assert proc.returncode == 0, proc.stderr
    assert f"consents {project / 'consents.toml'}" in proc.stderr
    clean(proc.stderr)


def test_an_empty_setting_on_the_command_line_unsets_it(project: Path, mockweb: MockWeb) -> None:
    with (project / "tutorial" / "settings.py").open("a") as fh:
        fh.write('POLITE_CRAWL_CONSENTS = "missing.toml"\n')

    refused = scrapy(project, mockweb, "crawl", "wiki")
    unset = scrapy(project, mockweb, "crawl", "wiki", "-s", "POLITE_CRAWL_CONSENTS=")

    assert refused.returncode != 0
    assert unset.returncode == 0, unset.stderr
    clean(unset.stderr)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["-s", "POLITE_CRAWL_PURPOSES=search_indexing"],
            "POLITE_CRAWL_PURPOSES = 'search_indexing': 'search_indexing' is not a valid choice "
            "(did you mean 'search-indexing'?)",
        ),
        (
            ["-a", "polite_crawl_purposes=Research"],
            "spider attribute polite_crawl_purposes = 'Research': 'Research' is not a valid "
            "choice (did you mean 'research'?)",
        ),
        (
            ["-s", "POLITE_CRAWL_CONSENTS=consents.toml"],
            "POLITE_CRAWL_CONSENTS = 'consents.toml': no such file: {root}/consents.toml",
        ),
        (
            ["-s", "POLITE_CRAWL_POLICY_DIRS=my-policies"],
            "POLITE_CRAWL_POLICY_DIRS = 'my-policies': not a directory: {root}/my-policies",
        ),
        (
            ["-s", "POLITE_CRAWL_CONTACT=crawler@example.org"],
            "POLITE_CRAWL_CONTACT = 'crawler@example.org': must be an http(s):// URL or a "
            "mailto: address",
        ),
        (
            ["-s", "POLITE_CRAWL_MODE=Report"],
            "POLITE_CRAWL_MODE = 'Report': 'Report' is not a valid choice (did you mean "
            "'report'?)",
        ),
        (
            ["-s", "POLITE_CRAWL_PURPOSE=research"],
            "unknown setting POLITE_CRAWL_PURPOSE",
        ),
        (
            ["-s", "POLITE_CRAWL_AUDIT_KEY_CREATE=False"],
            "POLITE_CRAWL_AUDIT_DIR = '{root}/polite_crawl_audit': no log-signing key at "
            "{root}/polite_crawl_audit/signing.key, and POLITE_CRAWL_AUDIT_KEY_CREATE = False "
            "forbids creating one",
        ),
        (
            [
                "-s",
                "ADDONS={}",
                "-s",
                "DOWNLOADER_MIDDLEWARES="
                '{"polite_crawl.middlewares.PoliteDownloaderMiddleware": 100}',
            ],
            "polite_crawl's middleware is listed in DOWNLOADER_MIDDLEWARES but the add-on is not "
            'enabled: add ADDONS = {{"polite_crawl.Addon": 0}}',
        ),
    ],
    ids=[
        "underscore-purpose",
        "spider-purpose-case",
        "relative-consents",
        "relative-policy-dir",
        "contact-without-mailto",
        "mode-case",
        "misspelt-setting",
        "no-key-in-production",
        "middleware-without-addon",
    ],
)
def test_the_usual_mistakes_get_one_clean_line(
    project: Path, mockweb: MockWeb, args: list[str], expected: str
) -> None:
    # From a sub-folder, as the mistake is often made: paths still resolve at the root.
    proc = scrapy(project / "tutorial", mockweb, "crawl", "wiki", *args)

    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if " ERROR: " in line]
    assert len(errors) == 1, proc.stderr
    assert (
        f"ERROR: polite_crawl: the crawl cannot start: {expected.format(root=project)}"
        in (errors[0])
    )
    clean(proc.stderr)
    assert mockweb.hits == []


def test_the_traceback_of_a_refused_start_is_there_when_debug_is_asked_for(
    project: Path, mockweb: MockWeb
) -> None:
    args = ["-s", "POLITE_CRAWL_PURPOSES=search_indexing"]
    default = scrapy(project, mockweb, "crawl", "wiki", *args)  # Scrapy's default is DEBUG
    asked = scrapy(project, mockweb, "crawl", "wiki", "--loglevel", "DEBUG", *args)

    assert default.returncode == asked.returncode == 1
    assert "Traceback" not in default.stderr
    assert "Traceback" in asked.stderr
    assert "polite_crawl.settings.SettingsError" in asked.stderr


def test_robotstxt_obey_false_still_enforces_robots_txt_and_says_so(
    project: Path, mockweb: MockWeb
) -> None:
    mockweb.add(WIKI + "/robots.txt", Resp(body="User-agent: *\nDisallow: /wiki/\n"))

    proc = scrapy(project, mockweb, "crawl", "wiki", "-s", "ROBOTSTXT_OBEY=False")

    assert proc.returncode == 0, proc.stderr
    assert not mockweb.fetched(WIKI + "/wiki/Web_crawler")
    assert "ROBOTSTXT_OBEY is False, and robots.txt is enforced all the same" in proc.stderr
    clean(proc.stderr)


def test_the_middlewares_listed_beside_the_add_on_are_installed_once(
    project: Path, mockweb: MockWeb
) -> None:
    listed = (
        '{"polite_crawl.middlewares.PoliteDownloaderMiddleware": 543, '
        '"polite_crawl.shell.decide.DecisionMiddleware": 544}'
    )

    proc = scrapy(project, mockweb, "crawl", "wiki", "-s", f"DOWNLOADER_MIDDLEWARES={listed}")

    assert proc.returncode == 0, proc.stderr
    assert mockweb.fetched(WIKI + "/wiki/Web_crawler")
    enabled = proc.stderr.split("Enabled downloader middlewares:", 1)[1].split("]", 1)[0]
    assert enabled.count("Polite") + enabled.count("DecisionMiddleware") == 1, enabled
    assert "'polite_crawl.middlewares.PoliteDownloaderMiddleware'" in enabled
    clean(proc.stderr)
