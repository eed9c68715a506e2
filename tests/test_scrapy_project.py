"""`scrapy fetch` and `scrapy crawl` inside a project that enables the add-on go through the gate;
so do the `scrapy polite` command and the `polite-crawl` console script."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from polite_crawl.testing.crawl import run_command as run
from polite_crawl.testing.crawl import run_scrapy as scrapy
from polite_crawl.testing.mockweb import MockWeb, Resp, page

SITE = "http://site.test"

SETTINGS = """
BOT_NAME = "proj"
SPIDER_MODULES = ["proj.spiders"]
ADDONS = {"polite_crawl.Addon": 0}
POLITE_CRAWL_PURPOSES = ["archiving"]
USER_AGENT = "examplebot/1.0 (+https://example.org/bot)"
ROBOTSTXT_OBEY = True
TELNETCONSOLE_ENABLED = False
RETRY_ENABLED = False
"""

SPIDER = """
import scrapy

class Site(scrapy.Spider):
    name = "site"

    async def start(self):
        for path in ("/public", "/private/a"):
            yield scrapy.Request("http://site.test" + path)

    def parse(self, response):
        yield {"url": response.url}
"""


@pytest.fixture
def project(tmp_path: Path, mockweb: MockWeb) -> Path:
    (tmp_path / "scrapy.cfg").write_text("[settings]\ndefault = proj.settings\n")
    pkg = tmp_path / "proj"
    (pkg / "spiders").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "settings.py").write_text(
        SETTINGS + f"POLITE_CRAWL_AUDIT_DIR = {str(tmp_path / 'audit')!r}\n"
    )
    (pkg / "spiders" / "__init__.py").write_text("")
    (pkg / "spiders" / "site.py").write_text(SPIDER)
    mockweb.add(SITE + "/robots.txt", Resp(body="User-agent: *\nDisallow: /private\n"))
    mockweb.add(SITE + "/public", page())
    mockweb.add(SITE + "/private/a", page())
    return tmp_path


def test_scrapy_fetch_of_a_denied_url_sends_only_the_preflight(
    project: Path, mockweb: MockWeb
) -> None:
    proc = scrapy(project, mockweb, "fetch", SITE + "/private/a")

    assert mockweb.urls() == [SITE + "/robots.txt"]
    assert "polite_crawl/denied/robots.disallowed" in proc.stderr


def test_scrapy_fetch_of_an_allowed_url(project: Path, mockweb: MockWeb) -> None:
    proc = scrapy(project, mockweb, "fetch", "--nolog", SITE + "/public")

    assert proc.returncode == 0, proc.stderr
    assert mockweb.urls() == [SITE + "/robots.txt", SITE + "/public"]
    assert "<html>" in proc.stdout


def test_scrapy_crawl_goes_through_the_gate(project: Path, mockweb: MockWeb) -> None:
    proc = scrapy(project, mockweb, "crawl", "site")

    assert proc.returncode == 0, proc.stderr
    assert sorted(mockweb.urls()) == [SITE + "/public", SITE + "/robots.txt"]
    assert "polite_crawl: 1 allowed, 1 denied (robots.disallowed: 1)" in proc.stderr
    assert (project / "audit" / "logs" / "_sites" / "entries.jsonl").exists()


def test_scrapy_polite_check_with_a_local_file(project: Path, mockweb: MockWeb) -> None:
    robots = project / "robots.txt"
    robots.write_text("User-agent: examplebot\nDisallow: /x\n")

    proc = scrapy(
        project,
        mockweb,
        "polite",
        "check",
        SITE + "/x/1",
        "--robots-file",
        str(robots),
        "--ua",
        "examplebot",
        "--json",
    )

    assert proc.returncode == 1, proc.stderr
    assert '"reason": "robots.disallowed"' in proc.stdout
    assert '"text": "Disallow: /x"' in proc.stdout
    assert mockweb.hits == []


def test_scrapy_polite_check_live_uses_the_project_settings(
    project: Path, mockweb: MockWeb
) -> None:
    mockweb.add(
        SITE + "/robots.txt",
        Resp(body="User-agent: *\nAllow: /\n\nUser-agent: examplebot\nDisallow: /public\n"),
    )

    proc = scrapy(project, mockweb, "polite", "check", SITE + "/public")

    assert proc.returncode == 1, proc.stderr
    assert "decision   DENY  (robots.disallowed)" in proc.stdout
    assert "purposes   archiving" in proc.stdout  # from the project's settings
    assert "rule       line 5: Disallow: /public" in proc.stdout
    assert mockweb.urls() == [SITE + "/robots.txt"]  # only the preflight
    assert mockweb.hits[0].headers["user-agent"].startswith("examplebot/1.0")


def test_scrapy_polite_check_live_may_ask_about_other_purposes_and_tokens(
    project: Path, mockweb: MockWeb
) -> None:
    # The check's options are the operator's command line, not a spider weakening the project's
    # settings: another purpose and product token are questions it answers.
    mockweb.add(
        SITE + "/robots.txt",
        Resp(body="User-agent: *\nAllow: /\n\nUser-agent: otherbot\nDisallow: /public\n"),
    )

    proc = scrapy(
        project,
        mockweb,
        "polite",
        "check",
        SITE + "/public",
        "--purpose",
        "research",
        "--ua",
        "otherbot",
    )

    assert proc.returncode == 1, proc.stderr
    assert "decision   DENY  (robots.disallowed)" in proc.stdout
    assert "purposes   research" in proc.stdout
    assert mockweb.urls() == [SITE + "/robots.txt"]
    assert mockweb.hits[0].headers["user-agent"].startswith("otherbot/")


def test_console_script_check_live(tmp_path: Path, mockweb: MockWeb) -> None:
    mockweb.add(SITE + "/robots.txt", Resp(body="User-agent: polite-crawl\nDisallow: /x\n"))
    script = Path(sys.executable).with_name("polite-crawl")

    allowed = run(tmp_path, mockweb, [str(script), "check", SITE + "/y", "--purpose", "research"])
    denied = run(
        tmp_path, mockweb, [str(script), "check", SITE + "/x", "--purpose", "research", "--json"]
    )

    assert allowed.returncode == 0, allowed.stderr
    assert "decision   ALLOW" in allowed.stdout
    assert denied.returncode == 1, denied.stderr
    assert '"decision": "deny"' in denied.stdout
    # research is text and data mining: the allowed URL also needed the TDMRep file; the URL
    # robots.txt refused did not.
    assert mockweb.urls() == [
        SITE + "/robots.txt",
        SITE + "/.well-known/tdmrep.json",
        SITE + "/robots.txt",
    ]


def test_console_script_check_needs_a_purpose(tmp_path: Path, mockweb: MockWeb) -> None:
    script = Path(sys.executable).with_name("polite-crawl")

    proc = run(tmp_path, mockweb, [str(script), "check", SITE + "/y"])
    bad = run(tmp_path, mockweb, [str(script), "check", SITE + "/y", "--purpose", "spying"])

    assert proc.returncode == 2
    assert "declare what the crawl is for with --purpose" in proc.stderr
    assert bad.returncode == 2
    assert "'spying' is not a valid purpose; valid purposes: search-indexing" in bad.stderr
    assert mockweb.hits == []


def test_demo_prints_a_refusal_table(tmp_path: Path, mockweb: MockWeb) -> None:
    script = Path(sys.executable).with_name("polite-crawl")

    proc = run(tmp_path, mockweb, [str(script), "demo"])

    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert (
        "    REFUSED   /private/diary           robots.disallowed    "
        "robots.txt line 2: Disallow: /private/" in out
    )
    assert (
        "    REFUSED   /                        robots.unreachable   robots.txt answered 503"
        in out
    )
    assert "    fetched   /item/1" in out
    assert (
        "    REFUSED   /media/face.jpg          tos.prohibited       twitter policy: "
        "https://docs.x.com/developer-terms/policy (2026-04-27)\n"
        "    (nothing was sent to this site, not even robots.txt)" in out
    )
    assert (
        "    REFUSED   /portraits/mayor         tdmrep.reserved      "
        "tdmrep.json rule 0: /portraits/ reserved" in out
    )
    assert (
        "    REFUSED   /works/self-portrait.jpg optout.noimageai     "
        "http://art.test/ says noimageai" in out
    )
    assert (
        "refused 9: optout.noimageai x1, robots.disallowed x2, robots.unreachable x1, "
        "tdmrep.reserved x1, tos.prohibited x4" in out
    )
    assert mockweb.hits == []  # the demo brings its own mock web


def test_demo_keeps_its_audit_log_and_the_commands_it_prints_work(
    tmp_path: Path, mockweb: MockWeb
) -> None:
    script = Path(sys.executable).with_name("polite-crawl")

    proc = run(tmp_path, mockweb, [str(script), "demo"])

    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "demo-audit" / "signing.key").exists()  # kept, to explore
    assert "The audit log is kept in demo-audit/" in proc.stdout
    commands = proc.stdout.split("Try next:\n", 1)[1].splitlines()
    assert [c.split()[1:3] for c in commands] == [
        ["audit", "export"],
        ["audit", "verify"],
        ["audit", "report"],
    ]
    assert "--fingerprint sha256:" in commands[1]  # verified against the pinned key
    for command in commands:  # each as printed, from where the demo ran
        done = run(tmp_path, mockweb, shlex.split(command))
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    assert (
        "verified 1 log(s) with key sha256:"
        in run(tmp_path, mockweb, shlex.split(commands[1])).stdout
    )
    assert "<html" in (tmp_path / "demo-report.html").read_text()

    again = run(tmp_path, mockweb, [str(script), "demo"])  # replaces its own directory

    assert again.returncode == 0, again.stderr
    assert "twitter (4)" in again.stdout  # one run's records, not two


def test_demo_does_not_replace_a_directory_it_did_not_make(
    tmp_path: Path, mockweb: MockWeb
) -> None:
    (tmp_path / "demo-audit").mkdir()
    (tmp_path / "demo-audit" / "mine.txt").write_text("keep")
    script = Path(sys.executable).with_name("polite-crawl")

    proc = run(tmp_path, mockweb, [str(script), "demo"])

    assert proc.returncode == 2
    assert "demo-audit exists and was not made by the demo" in proc.stderr
    assert (tmp_path / "demo-audit" / "mine.txt").read_text() == "keep"
