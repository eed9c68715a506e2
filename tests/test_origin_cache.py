"""The bounded per-origin cache: least recently used out first, an evicted origin is undecided
again (never allowed), origins a decision waits on are held, and the compact form of a file
decides exactly as the file does."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hypothesis import given, settings
from hypothesis import strategies as st

from polite_crawl.core.checks.robots import RobotsCheck
from polite_crawl.core.checks.scheme import SchemeCheck
from polite_crawl.core.context import Origin, RequestContext
from polite_crawl.core.decision import Decision, Reason
from polite_crawl.core.gate import Gate, Pending
from polite_crawl.core.purposes import Purpose
from polite_crawl.origin.compact import Library
from polite_crawl.origin.disk import OriginDiskCache
from polite_crawl.origin.store import FetchResult, FileState, Pins
from polite_crawl.robots.reader import RobotsStore, robots_reader

if TYPE_CHECKING:
    from pathlib import Path

DISALLOW_PRIVATE = b"User-agent: *\nDisallow: /private\n"
PURPOSES = frozenset({Purpose.ARCHIVING})


def origin(n: int) -> Origin:
    return Origin("http", f"site{n}.test", 80)


def fetch(n: int, status: int | None = 200, body: bytes = DISALLOW_PRIVATE) -> FetchResult:
    url = origin(n).url("/robots.txt")
    error = "TimeoutError" if status is None else None
    return FetchResult(url, url, status, body, error=error, fetched_at=0.0)


def store_of(size: int, pins: Pins | None = None) -> RobotsStore:
    return RobotsStore("examplebot", clock=lambda: 1.0, max_origins=size, pins=pins)


def test_the_least_recently_used_origin_goes_first() -> None:
    store = store_of(2)
    store.record(origin(1), fetch(1))
    store.record(origin(2), fetch(2))
    assert store.get(origin(1)) is not None  # 1 is now more recent than 2

    store.record(origin(3), fetch(3))

    assert store.get(origin(2)) is None
    assert store.get(origin(1)) is not None
    assert store.get(origin(3)) is not None
    assert store.evictions == 1


def test_the_bound_holds_whatever_the_mix_of_answers() -> None:
    store = store_of(50)
    for n in range(1000):
        status = (200, 404, 503, None)[n % 4]
        store.record(origin(n), fetch(n, status, b"User-agent: *\nDisallow: /%d\n" % n))
        store.get(origin(n))  # the decision that follows the preflight

    assert len(store) == 50
    assert store.evictions == 950


def test_an_evicted_origin_is_undecided_again_never_allowed() -> None:
    store = store_of(1)
    gate = Gate([SchemeCheck(), RobotsCheck(store)])
    ctx = RequestContext.build("http://site1.test/private/x", PURPOSES)
    store.record(origin(1), fetch(1))
    denied = gate.decide(ctx)
    assert isinstance(denied, Decision)
    assert denied.reason is Reason.ROBOTS_DISALLOWED

    store.record(origin(2), fetch(2))  # site1 evicted

    assert gate.decide(ctx) == Pending(origin(1), ("robots",))


def test_a_held_origin_survives_churn_until_released() -> None:
    # Requests wait for site1's preflight; meanwhile other preflights complete.
    store = store_of(1)
    with store.pins.holding(origin(1)):
        store.record(origin(1), fetch(1))
        for n in range(2, 10):
            store.record(origin(n), fetch(n))
        assert len(store) == 2  # over the bound by the held origin only

        assert store.get(origin(1)) is not None  # the parked requests find their answer
    store.record(origin(10), fetch(10))

    assert store.get(origin(1)) is None  # no longer held: evicted as usual
    assert len(store) == 1


def test_robots_txt_is_kept_while_the_same_origin_waits_for_another_file() -> None:
    # robots.txt allowed the request; tdmrep.json is being fetched: robots.txt must still be
    # there when the request is decided again, however many origins came and went.
    pins = Pins()
    robots = store_of(1, pins)
    robots.record(origin(1), fetch(1))
    with pins.holding(origin(1)):  # what the tdmrep.json preflight's waiter holds
        for n in range(2, 10):
            robots.record(origin(n), fetch(n))

        assert robots.get(origin(1)) is not None


def test_holds_are_counted() -> None:
    pins = Pins()
    pins.hold(origin(1))
    pins.hold(origin(1))  # two requests wait on one origin

    pins.release(origin(1))
    assert origin(1) in pins
    pins.release(origin(1))
    assert origin(1) not in pins
    assert len(pins) == 0


def test_an_evicted_origin_comes_back_from_the_disk_cache(tmp_path: Path) -> None:
    disk = OriginDiskCache(tmp_path / "robots.sqlite")
    store = RobotsStore("examplebot", clock=lambda: 1.0, max_origins=1, disk=disk)
    store.record(origin(1), fetch(1))
    store.get(origin(1))
    store.record(origin(2), fetch(2))
    store.get(origin(2))

    entry = store.get(origin(1))

    assert entry is not None
    assert entry.state is FileState.PARSED
    assert len(store) == 1
    disk.close()


def test_identical_files_are_kept_once() -> None:
    store = store_of(1000)
    for n in range(100):
        store.record(origin(n), fetch(n))
    store.record(origin(100), fetch(100, body=b"User-agent: *\nDisallow: /other\n"))

    assert len(store.library) == 2
    assert store.library.reads == 2


def test_a_content_is_freed_with_the_last_origin_that_served_it() -> None:
    store = store_of(2)
    store.record(origin(1), fetch(1, body=b"User-agent: *\nDisallow: /one\n"))
    store.record(origin(2), fetch(2))
    store.record(origin(3), fetch(3))  # site1 evicted, and with it the only copy of its file

    assert len(store.library) == 1
    store.record(origin(2), fetch(2, None))  # unreachable: the good copy is kept as fallback
    store.record(origin(3), fetch(3, 404))
    assert len(store.library) == 1
    store.record(origin(2), fetch(2, 404))
    assert len(store.library) == 0


def test_a_reading_dropped_and_made_again_decides_the_same() -> None:
    body = b"User-agent: *\n" + b"Disallow: /private\nAllow: /private/ok$\n" * 40  # packed
    library = Library(robots_reader("examplebot"), 512 * 1024, keep=1)
    first = library.intern(body, b"a" * 32)
    other = library.intern(b"User-agent: *\nDisallow: /\n", b"b" * 32)
    assert other.doc().match_path("/x").allowed is False
    reads = library.reads

    again = first.doc()  # its reading was dropped to keep the other one

    assert library.reads == reads + 1
    assert first.raw() == body
    assert again.match_path("/private/x").allowed is False
    assert again.match_path("/private/ok").allowed is True
    assert again.match_path("/public").allowed is True


OPS = st.lists(
    st.tuples(st.sampled_from(["get", "record"]), st.integers(0, 6), st.integers(0, 3)),
    max_size=80,
)
BODIES = (DISALLOW_PRIVATE, b"User-agent: *\nDisallow: /\n", b"", b"User-agent: *\nAllow: /\n")


@settings(max_examples=200, deadline=None)
@given(OPS, st.integers(1, 3))
def test_churn_never_allows_what_an_unbounded_cache_would_refuse(
    ops: list[tuple[str, int, int]], size: int
) -> None:
    bounded, unbounded = store_of(size), store_of(10_000)
    gates = [Gate([SchemeCheck(), RobotsCheck(s)]) for s in (bounded, unbounded)]
    for op, n, variant in ops:
        if op == "record":
            status = None if variant == 3 else 200
            for store in (bounded, unbounded):
                store.record(origin(n), fetch(n, status, BODIES[variant]))
            continue
        ctx = RequestContext.build(f"http://site{n}.test/private/{variant}", PURPOSES)
        small, reference = (gate.decide(ctx) for gate in gates)
        if isinstance(small, Decision) and small.allowed:
            # An allow rests on what the unbounded cache knows too. (A bounded cache may be
            # stricter: an evicted origin forgets its last good copy.)
            assert small == reference
        assert len(bounded) <= size


def test_an_empty_file_read_again_after_the_parsed_copies_move_on() -> None:
    # An empty 200 robots.txt is common; its packed form must read back once the library has
    # dropped its parsed copy (a zlib-compressed empty body once made every decision raise).
    store = store_of(10_000)
    store.record(origin(0), fetch(0, body=b""))
    for n in range(1, 1200):  # more distinct files than the library keeps parsed
        store.record(origin(n), fetch(n, body=DISALLOW_PRIVATE + f"# {n}\n".encode()))
    entry = store.get(origin(0))
    assert entry is not None
    assert entry.rules is not None
    assert entry.rules.match_path("/private/x").allowed  # an empty file disallows nothing
