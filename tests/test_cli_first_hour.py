"""The command line as a new user meets it (issue #20): `check` takes purposes as settings do,
says what to add to a URL without a scheme, tells what the after-fetch line would do, prints
readable times in aligned columns; `policies` takes --policy-dir after its subcommand, reports
every bad file, prints one JSON Schema per file kind; `scrapy polite --help` lists every
subcommand."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from polite_crawl.testing.crawl import run_cli
from polite_crawl.testing.crawl import run_command as run
from polite_crawl.testing.mockweb import MockWeb, Resp

SITE = "http://site.test"
ALLOW_ALL = "User-agent: *\nAllow: /\n"


@pytest.fixture
def robots(tmp_path: Path) -> Path:
    path = tmp_path / "robots.txt"
    path.write_text(ALLOW_ALL)
    return path


def test_check_takes_comma_separated_purposes_as_settings_do(robots: Path) -> None:
    proc = run_cli(
        "check",
        SITE + "/x",
        "--purpose",
        "search-indexing,archiving",
        "--robots-file",
        str(robots),
    )

    assert proc.returncode == 0, proc.stderr
    assert "purposes   archiving, search-indexing" in proc.stdout


def test_check_suggests_the_purpose_meant_without_the_enum_name(robots: Path) -> None:
    proc = run_cli("check", SITE + "/x", "--purpose", "search_indexing")

    assert proc.returncode == 2
    assert "did you mean 'search-indexing'?" in proc.stderr
    assert "Purpose" not in proc.stderr  # the enum class's name is not the user's business
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("url", ["shop.test/x", "localhost:8080/x", "www.example.org"])
def test_check_of_a_url_without_scheme_says_add_http(url: str) -> None:
    proc = run_cli("check", url, "--purpose", "research")

    assert proc.returncode == 2
    assert "add http:// or https://" in proc.stderr
    assert "scheme.unsupported" not in proc.stdout + proc.stderr


def test_check_prints_times_not_epoch_floats_in_aligned_columns(robots: Path) -> None:
    proc = run_cli("check", SITE + "/x", "--purpose", "ai-training", "--robots-file", str(robots))

    assert not re.search(r"\b1\d{9}\.\d+", proc.stdout), proc.stdout  # no epoch seconds
    rows = proc.stdout.split("checks\n", 1)[1].splitlines()
    outcome_columns = {
        m.start(1) for row in rows if (m := re.match(r"  \S+\s+(pass|deny|skip)\s", row))
    }
    assert len(outcome_columns) == 1, proc.stdout  # content_signal, requirements: one column


def check_live(tmp_path: Path, mockweb: MockWeb, *args: str) -> str:
    mockweb.add(SITE + "/robots.txt", Resp(body=ALLOW_ALL))
    script = Path(sys.executable).with_name("polite-crawl")
    proc = run(tmp_path, mockweb, [str(script), "check", *args, "--purpose", "ai-training"])
    assert "Traceback" not in proc.stderr, proc.stderr
    assert SITE + "/a.jpg" not in mockweb.urls()  # check fetches only preflights
    return f"{proc.returncode}\n{proc.stdout}"


def test_check_says_an_image_of_a_noimageai_page_would_be_discarded(
    tmp_path: Path, mockweb: MockWeb
) -> None:
    # A link to an image on a page that says noimageai: allowed before the fetch (it is not
    # known to be an image yet), discarded once the response shows one.
    out = check_live(tmp_path, mockweb, SITE + "/a.jpg", "--page-says", "noimageai")

    assert out.startswith("1\n"), out
    assert "decision   ALLOW" in out
    assert "DISCARD  (optout.noimageai)" in out


def test_check_says_an_image_whose_header_says_noimageai_would_be_discarded(
    tmp_path: Path, mockweb: MockWeb
) -> None:
    out = check_live(
        tmp_path, mockweb, SITE + "/a.jpg", "--response-header", "X-Robots-Tag: noimageai"
    )

    assert out.startswith("1\n"), out
    assert "DISCARD  (optout.noimageai)" in out


def test_an_allowed_image_check_lists_what_would_discard_it(
    tmp_path: Path, mockweb: MockWeb
) -> None:
    out = check_live(tmp_path, mockweb, SITE + "/a.jpg")

    assert out.startswith("0\n"), out
    after = out.split("after the fetch", 1)[1]
    assert "would be discarded if" in after
    assert "noimageai" in after
    assert "IPTC Data Mining" in after
    assert "C2PA" in after


def test_check_json_carries_the_after_fetch_verdict(tmp_path: Path, mockweb: MockWeb) -> None:
    out = check_live(tmp_path, mockweb, SITE + "/a.jpg", "--page-says", "noimageai", "--json")

    record = json.loads(out.split("\n", 1)[1])
    assert record["decision"] == "allow"
    assert record["after_fetch"]["discard"]["reason"] == "optout.noimageai"


def write_policy_dir(directory: Path) -> Path:
    directory.mkdir()
    shipped = Path(__file__).resolve().parent.parent / "policies" / "wikimedia.toml"
    (directory / "wikimedia.toml").write_text(shipped.read_text())
    return directory


@pytest.mark.parametrize(
    "args",
    [
        ["policies", "list", "--policy-dir", "{d}"],
        ["policies", "--policy-dir", "{d}", "list"],
    ],
)
def test_policy_dir_works_before_and_after_the_subcommand(tmp_path: Path, args: list[str]) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "broken.toml").write_text("id = [")  # read: the run fails naming it

    proc = run_cli(*(a.format(d=own) for a in args))

    assert proc.returncode == 1
    assert "broken.toml" in proc.stderr


@pytest.mark.parametrize("before", [True, False])
def test_show_uses_the_policy_dir_given_before_or_after(tmp_path: Path, before: bool) -> None:
    own = write_policy_dir(tmp_path / "own")
    opt = ["--policy-dir", str(own)]
    args = (
        ["policies", *opt, "show", "wikimedia"]
        if before
        else ["policies", "show", "wikimedia", *opt]
    )

    proc = run_cli(*args)

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"# {own / 'wikimedia.toml'}")


def test_policies_validate_reports_every_bad_file(tmp_path: Path) -> None:
    own = write_policy_dir(tmp_path / "own")
    (own / "a.toml").write_text('id = "a"\n')
    (own / "b.toml").write_text("x = [")

    proc = run_cli("policies", "validate", str(own))

    assert proc.returncode == 1
    assert "a.toml: field name" in proc.stderr
    assert "b.toml: not valid TOML" in proc.stderr
    assert "2 of 3 policy files invalid" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(("kind", "field"), [("policy", "domains"), ("consents", "grant")])
def test_policies_schema_is_one_json_schema_per_file_kind(kind: str, field: str) -> None:
    proc = run_cli("policies", "schema", "--kind", kind)

    schema = json.loads(proc.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:polite-crawl:schema:{kind}"
    assert schema["type"] == "object"
    assert field in schema["properties"]


def test_scrapy_polite_help_lists_every_subcommand(tmp_path: Path, mockweb: MockWeb) -> None:
    scrapy = [sys.executable, "-m", "scrapy", "polite"]
    top = run(tmp_path, mockweb, [*scrapy, "--help"])
    sub = run(tmp_path, mockweb, [*scrapy, "check", "--help"])

    assert top.returncode == 0, top.stderr
    for name in ("check", "policies", "audit", "demo", "bot-auth"):
        assert f"{name}:" in top.stdout
    assert sub.returncode == 0, sub.stderr
    assert "--page-says" in sub.stdout  # the subcommand's own options, not Scrapy's


def test_policies_diff_says_which_purpose_was_meant() -> None:
    shipped = str(Path(__file__).resolve().parent.parent / "policies")
    proc = run_cli("policies", "diff", shipped, shipped, "--purpose", "Research")

    assert proc.returncode == 2
    assert "'Research' is not a valid purpose (did you mean 'research'?)" in proc.stderr
    assert "Purpose value" not in proc.stderr


def test_check_of_an_embedded_image_of_a_noimageai_page_refuses_it_before_the_fetch(
    tmp_path: Path, mockweb: MockWeb
) -> None:
    # An <img> of such a page is known to be an image before the fetch: never requested.
    out = check_live(tmp_path, mockweb, SITE + "/a.jpg", "--image", "--page-says", "noimageai")

    assert out.startswith("1\n"), out
    assert "decision   DENY  (optout.noimageai)" in out
    assert "after the fetch" not in out
