"""`audit match` against spec_matcher, a join written from FORMAT.md §13 alone.

Each test runs one real signed crawl (test_audit_match's `crawled` fixture: the verifying
MockWeb's hits as the platform's access log), changes the access log the way a platform's log
or a forger would, and checks that the CLI's `--json` report and spec_matcher's agree on every
count and on the (kind, line) of every finding."""

from __future__ import annotations

import datetime
import json
from typing import TYPE_CHECKING, Any

import pytest
from botauth_web import SITE, VerifyingWeb, signed_crawl, site
from spec_matcher import match as spec_match
from test_audit_match import AROUND, access_line, crawled, exported, web, write_log
from test_crawl_botauth import REWRITE

from polite_crawl.audit.keys import PUBLIC_FILE, fingerprint, read_public
from polite_crawl.testing.crawl import run_cli

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["crawled", "web"]  # fixtures, used by name

COUNTS = ("matched", "unsigned", "other_signers", "not_arrived", "replaced", "recorded")


def cli(tmp_path: Path, log: Path, *pin: str) -> tuple[int, dict[str, Any]]:
    pin = pin or ("--directory", str(tmp_path / "directory.json"))
    proc = run_cli("audit", "match", str(tmp_path / "export"), str(log), *pin, "--json")
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def spec(tmp_path: Path, log: Path, fingerprint: str | None = None) -> dict[str, Any]:
    directory = None if fingerprint else json.loads((tmp_path / "directory.json").read_bytes())
    return spec_match(tmp_path / "export", log, directory, fingerprint)


def joined(tmp_path: Path, lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Both joins of the access log `lines`; asserts that they agree, returns spec_matcher's."""
    log = write_log(tmp_path / "access.jsonl", lines)
    code, theirs = cli(tmp_path, log)
    ours = spec(tmp_path, log)
    assert {k: ours[k] for k in COUNTS} == {k: theirs[k] for k in COUNTS}, (ours, theirs)
    assert ours["findings"] == [(f["kind"], f["line"]) for f in theirs["findings"]], theirs
    assert code == (1 if ours["findings"] else 0)
    assert theirs["ok"] is not bool(ours["findings"])
    return ours


def at(lines: list[dict[str, Any]], path: str) -> int:
    return next(i for i, line in enumerate(lines) if line["url"] == SITE + path)


def test_a_clean_log_matches(tmp_path: Path, crawled: list[dict[str, Any]]) -> None:
    report = joined(tmp_path, crawled)

    assert report["findings"] == []
    assert report["matched"] == report["recorded"] == len(crawled) >= 6


def test_a_changed_url_is_a_bad_signature(tmp_path: Path, crawled: list[dict[str, Any]]) -> None:
    n = at(crawled, "/a")
    changed = [*crawled]
    changed[n] = {**crawled[n], "url": SITE + "/admin"}

    report = joined(tmp_path, changed)

    assert report["findings"] == [("bad_signature", n + 1)]
    assert report["not_arrived"] == 1  # /a's nonce: no line carried it with a valid signature


def test_a_replayed_line(tmp_path: Path, crawled: list[dict[str, Any]]) -> None:
    n = at(crawled, "/a")

    report = joined(tmp_path, [*crawled, crawled[n]])

    assert report["findings"] == [("replayed", len(crawled) + 1)]
    assert report["matched"] == len(crawled)


def test_a_line_whose_signature_was_removed(tmp_path: Path, crawled: list[dict[str, Any]]) -> None:
    n = at(crawled, "/a")
    changed = [*crawled]
    changed[n] = {k: v for k, v in crawled[n].items() if k != "signature"}

    report = joined(tmp_path, changed)

    assert report["findings"] == [("bad_signature", n + 1)]


def test_an_unsigned_line_is_counted(tmp_path: Path, crawled: list[dict[str, Any]]) -> None:
    unsigned = {k: crawled[0][k] for k in ("time", "method", "url")}

    report = joined(
        tmp_path, [*crawled[:2], unsigned, {**unsigned, "signature": None}, *crawled[2:]]
    )

    assert report["findings"] == []
    assert report["unsigned"] == 2
    assert report["matched"] == len(crawled)


def test_edge_cases_on_one_crawl(tmp_path: Path, crawled: list[dict[str, Any]]) -> None:
    """Cases §13 words less directly, each joined by both on the same export."""
    n = at(crawled, "/a")
    # Another signer: Signature-Input names only a keyid that is not the operator's.
    other = {**crawled[n], "signature-input": crawled[n]["signature-input"].replace(
        'keyid="', 'keyid="someone-else-'
    )}  # fmt: skip
    report = joined(tmp_path, [*crawled, other])
    assert report["other_signers"] == 1
    assert report["findings"] == []

    # Received an hour after the signature expired: judged at the line's time.
    sent = datetime.datetime.fromisoformat(crawled[n]["time"].replace("Z", "+00:00"))
    late = (sent + datetime.timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    changed = [*crawled]
    changed[n] = {**crawled[n], "time": late}
    report = joined(tmp_path, changed)
    assert report["findings"] == [("bad_signature", n + 1)]

    # Signature-Input removed, Signature kept: it names no keyid at all.
    changed[n] = {k: v for k, v in crawled[n].items() if k != "signature-input"}
    report = joined(tmp_path, changed)
    assert report["findings"] == [("bad_signature", n + 1)]

    # Blank lines are skipped but keep their place in the line numbers.
    spaced = [*crawled, crawled[n]]
    log = tmp_path / "access.jsonl"
    log.write_text("\n".join(json.dumps(line) for line in spaced[:2]) + "\n\n   \n"
                   + "".join(json.dumps(line) + "\n" for line in spaced[2:]))  # fmt: skip
    code, theirs = cli(tmp_path, log)
    ours = spec(tmp_path, log)
    assert ours["findings"] == [(f["kind"], f["line"]) for f in theirs["findings"]]
    assert ours["findings"] == [("replayed", len(spaced) + 2)]
    assert code == 1

    # The log key pinned instead of a key directory (step 3 then uses the run.start keys).
    log = write_log(tmp_path / "access.jsonl", crawled)
    key = "sha256:" + fingerprint(read_public(tmp_path / "audit" / PUBLIC_FILE))
    code, theirs = cli(tmp_path, log, "--fingerprint", key)
    ours = spec(tmp_path, log, key)
    assert code == 0
    assert {k: ours[k] for k in COUNTS} == {k: theirs[k] for k in COUNTS}
    assert ours["findings"] == [] == theirs["findings"]
    # A wrong pin: the export's log key is not the operator's (a finding; the CLI exits 1).
    wrong = run_cli("audit", "match", str(tmp_path / "export"), str(log), "--fingerprint",
                    "sha256:" + "0" * 64, "--json")  # fmt: skip
    assert wrong.returncode == 1
    assert spec(tmp_path, log, "sha256:" + "0" * 64)["findings"] == [("export", None)]


def test_bad_input_stops_both(tmp_path: Path, crawled: list[dict[str, Any]]) -> None:
    log = tmp_path / "access.jsonl"
    for bad in ('{"time": "2026-12-06 05:00", "method": "GET", "url": "http://site.test/"}',
                '{"time": "2026-12-06T05:00:00Z", "method": "GET", "url": "/a"}', "[1]",
                '{"time": "2026-12-06T05:00:00Z", "method": "GET", "url": "http://a.test/", '
                '"signature-input": 1}'):  # fmt: skip
        log.write_text(json.dumps(crawled[0]) + "\n" + bad + "\n")
        proc = run_cli("audit", "match", str(tmp_path / "export"), str(log), "--directory",
                       str(tmp_path / "directory.json"), "--json")  # fmt: skip
        assert proc.returncode == 2, bad
        with pytest.raises(ValueError, match=r"access\.jsonl:2"):
            spec(tmp_path, log)


def test_a_request_signed_around_the_add_on(web: VerifyingWeb, tmp_path: Path) -> None:
    site(web)
    result = signed_crawl(web, tmp_path, [], spider_code=AROUND)
    assert result.returncode == 0, result.log
    assert web.failures() == []
    exported(tmp_path)

    report = joined(tmp_path, [access_line(hit) for hit in web.hits])

    assert report["findings"] == [("not_in_export", 1)]


def test_where_the_text_was_sharpened(tmp_path: Path, crawled: list[dict[str, Any]]) -> None:
    """Cases the first text of §13 left open, and the two implementations decided differently;
    the text now decides them, and both follow it."""
    export, directory = str(tmp_path / "export"), str(tmp_path / "directory.json")
    n = at(crawled, "/a")

    # The method as received, case and all: "get" is not the "GET" that was signed.
    changed = [*crawled]
    changed[n] = {**crawled[n], "method": "get"}
    log = write_log(tmp_path / "access.jsonl", changed)
    code, theirs = cli(tmp_path, log)
    assert (code, [(f["kind"], f["line"]) for f in theirs["findings"]]) == (
        1,
        [("bad_signature", n + 1)],
    )
    assert spec(tmp_path, log)["findings"] == [("bad_signature", n + 1)]

    # A key directory without an Ed25519 key is bad input.
    empty = tmp_path / "empty.json"
    empty.write_text('{"keys": []}')
    log = write_log(tmp_path / "access.jsonl", crawled)
    proc = run_cli("audit", "match", export, str(log), "--directory", str(empty), "--json")
    assert proc.returncode == 2
    assert "holds no Ed25519 key" in proc.stderr
    with pytest.raises(ValueError, match="no Ed25519 key"):
        spec_match(tmp_path / "export", log, {"keys": []}, None)

    # An export that does not verify against the pin: one finding, `export`, and no join.
    zero = "sha256:" + "0" * 64
    proc = run_cli("audit", "match", export, str(log), "--directory", directory, "--json",
                   "--fingerprint", zero)  # fmt: skip
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert [(f["kind"], f["line"]) for f in report["findings"]] == [("export", None)]
    assert "not the operator's key" in report["findings"][0]["message"]
    assert spec_match(tmp_path / "export", log, None, zero)["findings"] == [("export", None)]


def test_a_nonce_replaced_before_sending_is_counted(web: VerifyingWeb, tmp_path: Path) -> None:
    # test_crawl_botauth's REWRITE: the allowed request's URL changes after the gate (report
    # mode lets it through), so it is signed again at the wire and the decision's nonce is
    # `replaces`d: recorded, never sent, and no finding.
    site(web)
    result = signed_crawl(web, tmp_path, [], {"POLITE_CRAWL_MODE": "report"}, spider_code=REWRITE)
    assert result.returncode == 0, result.log
    assert web.failures() == []
    exported(tmp_path)

    report = joined(tmp_path, [access_line(hit) for hit in web.hits])

    assert report["findings"] == []
    assert report["not_arrived"] == report["replaced"] == 1
