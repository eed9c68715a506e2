"""`polite-crawl bot-auth directory`: never invents a key, names what is wrong, and writes a
directory whose keys are the crawl's (the signed round trip is in test_botauth_sign.py)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from polite_crawl.botauth.agent import directory_url, signature_agent_origin
from polite_crawl.botauth.errors import BotAuthError
from polite_crawl.botauth.key import key_path, load_or_create
from polite_crawl.cli.main import main
from polite_crawl.testing.crawl import run_cli

if TYPE_CHECKING:
    from pathlib import Path


def test_a_missing_key_is_an_error_unless_create(tmp_path: Path) -> None:
    audit, out = tmp_path / "audit", tmp_path / "dir.json"

    proc = run_cli("bot-auth", "directory", str(audit), "-o", str(out))

    assert proc.returncode == 2
    assert str(key_path(audit)) in proc.stderr
    assert "--create" in proc.stderr
    assert not key_path(audit).exists()
    assert not out.exists()


def test_the_directory_holds_the_crawls_key_unsigned_without_an_origin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = load_or_create(key_path(tmp_path))  # as the crawl would have made it
    out = tmp_path / "dir.json"

    assert main(["bot-auth", "directory", str(tmp_path), "-o", str(out)]) == 0

    printed = capsys.readouterr().out
    [entry] = json.loads(out.read_bytes())["keys"]
    assert entry == {**key.jwk(), "kid": key.keyid, "use": "sig"}
    assert f"keyid {key.keyid}" in printed
    assert "unsigned" in printed
    assert (tmp_path / "dir.json.headers").read_text() == (
        "Content-Type: application/http-message-signatures-directory+json\n"
    )


def test_a_key_given_by_path_and_the_project_setting_are_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = load_or_create(tmp_path / "elsewhere.key")
    out = tmp_path / "dir.json"
    settings = {"POLITE_CRAWL_SIGNATURE_AGENT": "https://crawler.example.org"}

    code = main(
        ["bot-auth", "directory", str(tmp_path / "audit"), "-o", str(out), "--key",
         str(tmp_path / "elsewhere.key")],
        settings=settings,
    )  # fmt: skip

    assert code == 0
    printed = capsys.readouterr().out
    assert json.loads(out.read_bytes())["keys"][0]["kid"] == key.keyid
    assert "https://crawler.example.org/.well-known/http-message-signatures-directory" in printed
    assert "Signature: binding0=:" in (tmp_path / "dir.json.headers").read_text()
    assert not (tmp_path / "audit").exists()  # nothing made in the audit directory


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--signature-agent", "http://crawler.example.org"], "must be an https URL"),
        (
            ["--signature-agent", "https://crawler.example.org/bot/keys.json"],
            "verifiers fetch the directory from that path only",
        ),
        (["--valid-days", "0"], "--valid-days must be positive"),
    ],
)
def test_usage_errors_name_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], error: str
) -> None:
    load_or_create(key_path(tmp_path))
    out = tmp_path / "dir.json"

    assert main(["bot-auth", "directory", str(tmp_path), "-o", str(out), *args]) == 2

    assert error in capsys.readouterr().err
    assert not out.exists()


def test_a_corrupt_key_is_reported_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = key_path(tmp_path)
    path.write_bytes(b"garbage")
    path.chmod(0o600)

    code = main(["bot-auth", "directory", str(tmp_path), "-o", str(tmp_path / "d"), "--create"])

    assert code == 2
    assert f"{path}: not a usable PEM private key" in capsys.readouterr().err
    assert path.read_bytes() == b"garbage"


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://crawler.example.org", "https://crawler.example.org"),
        ("https://Crawler.Example.ORG/", "https://crawler.example.org"),
        ("https://crawler.example.org:443", "https://crawler.example.org"),
        ("https://crawler.example.org:8443", "https://crawler.example.org:8443"),
        ("HTTPS://[2001:db8::1]:8443/", "https://[2001:db8::1]:8443"),
        # The contract's wording: the URL where the directory is served. The header carries
        # its origin (the draft's `directory` type); the verifier adds the path.
        (
            "https://crawler.example.org/.well-known/http-message-signatures-directory",
            "https://crawler.example.org",
        ),
    ],
)
def test_the_signature_agent_is_an_https_origin(given: str, origin: str) -> None:
    assert signature_agent_origin(given) == origin
    assert directory_url(given) == origin + "/.well-known/http-message-signatures-directory"


@pytest.mark.parametrize(
    "given",
    [
        "crawler.example.org",
        "http://crawler.example.org",
        "https://crawler.example.org/bot",
        "https://crawler.example.org/.well-known/http-message-signatures-directory/",
        "https://crawler.example.org/.well-known/http-message-signatures-directory?v=2",
        "https://crawler.example.org/.well-known/",
        "https://crawler.example.org/?x=1",
        "https://crawler.example.org/#top",
        "https://user:pw@crawler.example.org",
        "https://bücher.example",
        "https://crawler.example.org:99999",
    ],
)
def test_anything_but_an_https_origin_is_refused(given: str) -> None:
    with pytest.raises(BotAuthError, match="Signature-Agent"):
        signature_agent_origin(given)
