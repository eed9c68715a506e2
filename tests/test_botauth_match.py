"""The join's rules (botauth/match.py) on records and requests made here, each case a finding a
crawl cannot easily produce: parameters that differ from their record, a nonce whose record
refused or replaced it, a duplicated nonce, another signer, and the binding between the keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from polite_crawl.botauth.accesslog import Received, rfc3339
from polite_crawl.botauth.binding import binding_note, bound_fingerprint, vouching_key
from polite_crawl.botauth.errors import BotAuthError
from polite_crawl.botauth.key import BotAuthKey
from polite_crawl.botauth.match import match, signed_records
from polite_crawl.botauth.params import fresh_params
from polite_crawl.botauth.sign import Signer

if TYPE_CHECKING:
    from polite_crawl.botauth.match import MatchReport

AGENT = "https://crawler.example.org"
NOW = 1_790_000_000
KEY = BotAuthKey.of(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
OTHER = BotAuthKey.of(Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33))))
MINE = {KEY.keyid: KEY.private.public_key()}  # a key directory holding KEY
THEIRS = {OTHER.keyid: OTHER.private.public_key()}
LOG_FINGERPRINT = "ab" * 32


def signed(url: str, key: BotAuthKey = KEY) -> tuple[dict[str, Any], Received]:
    """The record a crawl writes for url, and the request as the server receives it."""
    params = fresh_params("GET", url, key.keyid, signature_agent=AGENT, clock=lambda: NOW)
    headers = Signer(key).sign("GET", url, params, AGENT)
    record = {
        "type": "decision",
        "seq": 1,
        "url": url,
        "decision": "allow",
        "enforced": True,
        "signature": {**params.record(), "base_sha256": headers.base_sha256},
    }
    fields = {
        "signature-input": headers.signature_input,
        "signature": headers.signature,
        "signature-agent": headers.signature_agent or "",
    }
    return record, Received(1, NOW + 1, "GET", url, tuple(fields.items()))


def run_start(key: BotAuthKey = KEY, fingerprint: str = LOG_FINGERPRINT) -> dict[str, Any]:
    return {
        "type": "run.start",
        "seq": 0,
        "bot_auth_keyid": key.keyid,
        "bot_auth_key": key.jwk(),
        "bot_auth_binding": binding_note(key, fingerprint),
    }


def joined(records: list[dict[str, Any]], received: list[Received]) -> MatchReport:
    numbered = [Received(n, r.time, r.method, r.url, r.headers) for n, r in enumerate(received, 1)]
    return match(signed_records([run_start(), *records]), numbered)


def kinds(report: MatchReport) -> list[tuple[str, int | None]]:
    return [(f.kind, f.line) for f in report.findings]


def test_a_request_and_its_record_match() -> None:
    record, request = signed("https://site.example/a?q=1")

    report = joined([record], [request])

    assert report.ok
    assert (report.matched, report.not_arrived) == (1, 0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("created", NOW - 1),
        ("expires", NOW + 3600),
        ("components", ["@authority", "@method", "@path"]),
        ("base_sha256", "0" * 64),
        ("label", "sig2"),
    ],
)
def test_parameters_other_than_the_recorded_ones_are_named(field: str, value: object) -> None:
    record, request = signed("https://site.example/a?q=1")
    record["signature"][field] = value

    report = joined([record], [request])

    assert kinds(report) == [("differs", 1)]
    assert f"{field} {value!r} recorded" in report.findings[0].message


def test_a_nonce_whose_record_refuses_the_request_yet_arrived_is_named() -> None:
    record, request = signed("https://site.example/a")
    record["decision"] = "deny"

    report = joined([record], [request])

    assert kinds(report) == [("not_sent", 1)]
    assert "refuses it, yet it arrived" in report.findings[0].message


def test_a_replaced_nonce_that_arrived_is_named_and_one_that_did_not_is_counted() -> None:
    first, sent_first = signed("https://site.example/a")
    second, _ = signed("https://site.example/b")
    renewed = {"type": "request.signed", "seq": 2, "replaces": first["signature"]["nonce"]}
    also = {"type": "request.signed", "seq": 3, "replaces": second["signature"]["nonce"]}

    report = joined([first, second, renewed, also], [sent_first])

    assert kinds(report) == [("not_sent", 1)]
    assert "was replaced before sending" in report.findings[0].message
    assert (report.not_arrived, report.replaced) == (1, 1)


def test_a_nonce_recorded_twice_is_a_problem_of_the_export() -> None:
    record, request = signed("https://site.example/a")

    report = joined([record, {**record, "seq": 2}], [request])

    assert kinds(report) == [("export", None)]
    assert "already in seq 1" in report.findings[0].message


def test_requests_of_other_signers_and_unsigned_ones_are_counted_not_judged() -> None:
    _, theirs = signed("https://site.example/a", OTHER)
    plain = Received(2, NOW, "GET", "https://site.example/b", ())

    report = joined([], [theirs, plain])

    assert report.ok
    assert (report.other_signers, report.unsigned, report.matched) == (1, 1, 0)


def test_a_key_the_directory_does_not_hold_does_not_verify() -> None:
    # The export names the key; the directory the platform fetched does not hold it.
    record, request = signed("https://site.example/a")

    report = match(signed_records([run_start(), record]), [request], THEIRS)

    assert kinds(report) == [("bad_signature", 1)]
    assert f"keyid {KEY.keyid} is not among the keys given" in report.findings[0].message


def test_an_expired_signature_is_judged_at_the_time_received() -> None:
    record, request = signed("https://site.example/a")
    late = Received(1, NOW + 3600, request.method, request.url, request.headers)

    report = joined([record], [late])

    assert kinds(report) == [("bad_signature", 1)]
    assert "expired" in report.findings[0].message


def test_a_run_start_whose_key_is_not_its_keyid_is_a_problem_of_the_export() -> None:
    start = {**run_start(), "bot_auth_key": OTHER.jwk()}

    report = match(signed_records([start]), [])

    assert kinds(report) == [("export", None)]


def test_the_binding_names_the_log_key_and_only_its_own_key_opens_it() -> None:
    note = binding_note(KEY, "sha256:" + LOG_FINGERPRINT)

    assert bound_fingerprint(note, KEY.keyid, KEY.private.public_key()) == LOG_FINGERPRINT
    with pytest.raises(BotAuthError, match="bot_auth_binding"):
        bound_fingerprint(note, OTHER.keyid, OTHER.private.public_key())
    with pytest.raises(BotAuthError, match="names key"):
        bound_fingerprint(note, "another-keyid", KEY.private.public_key())
    bindings = [(KEY.keyid, note)]
    assert vouching_key(bindings, MINE, LOG_FINGERPRINT) == KEY.keyid
    # A forger's log key is not the one named; a directory without the key vouches for none.
    assert vouching_key(bindings, MINE, "cd" * 32) is None
    assert vouching_key(bindings, THEIRS, LOG_FINGERPRINT) is None
    forged = [(OTHER.keyid, binding_note(KEY, LOG_FINGERPRINT))]  # relabelled
    assert vouching_key(forged, THEIRS, LOG_FINGERPRINT) is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2026-12-06T05:00:00Z", 1796533200.0),
        ("2026-12-06t05:00:00.25z", 1796533200.25),
        ("2026-12-06T06:30:00+01:30", 1796533200.0),
        ("2026-12-06 05:00:00-00:00", 1796533200.0),
    ],
)
def test_access_log_times_are_rfc_3339(text: str, seconds: float) -> None:
    assert rfc3339(text) == seconds


@pytest.mark.parametrize(
    "text", ["2026-12-06T05:00:00", "2026-12-06", "1796533200", "2026-12-06T05:00Z"]
)
def test_times_without_an_offset_or_seconds_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not an RFC 3339 date-time"):
        rfc3339(text)
