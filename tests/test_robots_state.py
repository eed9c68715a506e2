"""The per-origin state machine: what each fetch outcome means, for how long."""

from __future__ import annotations

import pytest

from polite_crawl.core.context import Origin
from polite_crawl.origin.store import MAX_TTL, FetchResult, FileState
from polite_crawl.robots.reader import RobotsStore, classify

URL = "http://site.test/robots.txt"
ORIGIN = Origin.of(URL)


def fetch(
    status: int | None,
    body: bytes = b"",
    *,
    error: str | None = None,
    at: float = 0.0,
    max_age: float | None = None,
) -> FetchResult:
    return FetchResult(URL, URL, status, body, error=error, fetched_at=at, max_age=max_age)


@pytest.mark.parametrize(
    ("status", "error", "state"),
    [
        (200, None, FileState.PARSED),
        (204, None, FileState.PARSED),
        (400, None, FileState.UNAVAILABLE),
        (401, None, FileState.UNAVAILABLE),
        (403, None, FileState.UNAVAILABLE),
        (404, None, FileState.UNAVAILABLE),
        (410, None, FileState.UNAVAILABLE),
        (429, None, FileState.UNREACHABLE),
        (500, None, FileState.UNREACHABLE),
        (503, None, FileState.UNREACHABLE),
        (599, None, FileState.UNREACHABLE),
        (301, None, FileState.UNREACHABLE),  # a redirect with no Location left to follow
        (None, "TimeoutError", FileState.UNREACHABLE),
        (200, "more than 5 redirects", FileState.UNREACHABLE),
    ],
)
def test_classify(status: int | None, error: str | None, state: FileState) -> None:
    assert classify(fetch(status, error=error), "examplebot").state is state


def test_store_caps_the_ttl_at_24_hours() -> None:
    store = RobotsStore("examplebot", ttl=7 * MAX_TTL, clock=lambda: 0.0)

    entry = store.record(ORIGIN, fetch(200))

    assert entry.expires_at == MAX_TTL


def test_max_age_shortens_the_life_of_a_copy() -> None:
    entry = classify(fetch(200, at=0.0, max_age=120.0), "examplebot")

    assert entry.expires_at == 120.0


def test_unreachable_backoff_doubles_up_to_an_hour() -> None:
    now = [0.0]
    store = RobotsStore("examplebot", backoff=60.0, clock=lambda: now[0])

    waits = []
    for _ in range(8):
        entry = store.record(ORIGIN, fetch(503, at=now[0]))
        waits.append(entry.expires_at - now[0])
        now[0] = entry.expires_at

    assert waits == [60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 3600.0, 3600.0]


def test_an_expired_entry_asks_for_a_new_preflight() -> None:
    now = [0.0]
    store = RobotsStore("examplebot", ttl=100.0, clock=lambda: now[0])
    store.record(ORIGIN, fetch(200))

    assert store.get(ORIGIN) is not None
    now[0] = 100.0
    assert store.get(ORIGIN) is None


def test_the_last_good_copy_survives_repeated_failures() -> None:
    store = RobotsStore("examplebot", clock=lambda: 0.0)
    store.record(ORIGIN, fetch(200, b"User-agent: *\nDisallow: /x\n"))
    store.record(ORIGIN, fetch(503))

    entry = store.record(ORIGIN, fetch(None, error="ConnectionRefusedError"))

    assert entry.state is FileState.UNREACHABLE
    assert entry.fallback is not None
    assert entry.fallback.state is FileState.PARSED
    assert entry.failures == 2


def test_a_new_good_copy_resets_the_backoff() -> None:
    store = RobotsStore("examplebot", backoff=60.0, clock=lambda: 0.0)
    store.record(ORIGIN, fetch(503))
    store.record(ORIGIN, fetch(200))

    entry = store.record(ORIGIN, fetch(503))

    assert entry.expires_at == 60.0


def test_evidence_hashes_the_exact_bytes() -> None:
    body = b"User-agent: *\nDisallow: /\n"

    entry = classify(fetch(200, body), "examplebot")

    assert entry.evidence()["sha256"] == (
        "331ea9090db0c9f6f597bd9840fd5b171830f6e0b3ba1cb24dfa91f0c95aedc1"
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("max-age=3600", 3600.0),
        ("public, max-age=10", 60.0),
        ("no-cache", None),
        ("MAX-AGE = 120", 120.0),
    ],
)
def test_cache_control_max_age_has_a_one_minute_floor(
    header: str | None, expected: float | None
) -> None:
    from scrapy.http import TextResponse

    from polite_crawl.shell.preflight import _max_age

    headers = {"Cache-Control": header} if header else {}
    response = TextResponse(URL, headers=headers, body=b"")

    assert _max_age(response) == expected
