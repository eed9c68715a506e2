"""Property tests: Content-Signal and Content-Usage records, read from a whole robots.txt as the
check reads them (parse, pick the groups, collect their records). No input crashes the reader;
what it refuses is only ever a declared purpose, cited by a line that says no; and a huge line
costs bounded memory."""

from __future__ import annotations

import tracemalloc

from hypothesis import example, given
from hypothesis import strategies as st

from polite_crawl.core.purposes import Purpose
from polite_crawl.robots.parser import parse
from polite_crawl.robots.rules import Rules
from polite_crawl.signals.content_signal import CATEGORIES, MAX_QUOTE, Refusal, refusals

TOKEN = "examplebot"
KEYS = st.sampled_from(["Content-Signal", "content-usage", "CONTENT-SIGNAL", "Content-Usage"])
NAMES = st.sampled_from([*{n for t in CATEGORIES.values() for n in t}, "ai", "", "Search"])
ANSWERS = st.sampled_from(["yes", "no", "n", "y", "NO", " n ", "maybe", ""])
PART = st.one_of(
    st.builds(lambda n, a: f"{n}={a}", NAMES, ANSWERS),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=20),
)
VALUE = st.builds(
    lambda scope, parts, sep: (scope + " " if scope else "") + sep.join(parts),
    st.sampled_from(["", "/", "/images/", "/a b", "*"]),
    st.lists(PART, max_size=6),
    st.sampled_from([",", ", ", " ,", ";"]),
)
LINE = st.one_of(
    st.builds(lambda k, v: f"{k}: {v}", KEYS, VALUE),
    st.sampled_from(["User-agent: *", "User-agent: examplebot", "User-agent: other", "Allow: /"]),
    st.text(max_size=60),
)
PURPOSES = st.frozensets(st.sampled_from(list(Purpose)))
PATH = st.sampled_from(["/", "/images/a.png", "/a", "/a b", "/x"])


def read(robots: str, path: str, purposes: frozenset[Purpose]) -> list[Refusal]:
    rules = Rules(parse(robots.encode("utf-8", "surrogatepass")), TOKEN)
    return refusals([e for g in rules.groups for e in g.extensions], path, purposes)


@given(st.lists(LINE, max_size=12), PATH, PURPOSES)
@example(["User-agent: *", "Content-Signal: ai-train=no"], "/", frozenset(Purpose))
def test_only_declared_purposes_are_refused_by_a_line_that_says_no(
    lines: list[str], path: str, purposes: frozenset[Purpose]
) -> None:
    robots = "\n".join(lines) + "\n"
    text_lines = robots.encode("utf-8", "surrogatepass").decode("utf-8", "replace").splitlines()

    for refusal in read(robots, path, purposes):
        assert refusal.purpose in purposes
        assert refusal.purpose in CATEGORIES[refusal.record][refusal.category]
        cited = text_lines[refusal.line - 1].lower()
        assert cited.lstrip().startswith(refusal.record)
        assert f"{refusal.category}=" in cited.replace(" ", "")
        assert len(refusal.text) <= len("Content-Signal: ") + MAX_QUOTE + 3


@given(st.lists(LINE, max_size=12), PATH, PURPOSES, PURPOSES)
def test_declaring_fewer_purposes_never_adds_a_refusal(
    lines: list[str], path: str, wide: frozenset[Purpose], narrow: frozenset[Purpose]
) -> None:
    robots = "\n".join(lines) + "\n"
    narrow &= wide

    expected = [r for r in read(robots, path, wide) if r.purpose in narrow]

    assert read(robots, path, narrow) == expected


@given(st.lists(LINE, max_size=12), PATH)
def test_a_no_in_our_group_always_refuses_ai_training(lines: list[str], path: str) -> None:
    robots = "\n".join(["User-agent: examplebot", *lines, "Content-Signal: ai-train=no"]) + "\n"
    # Later User-agent lines may start another group; the record is appended to the last one,
    # so it applies only if that group is ours (or nobody names us and it is a * group).
    rules = Rules(parse(robots.encode("utf-8", "surrogatepass")), TOKEN)
    last = parse(robots.encode("utf-8", "surrogatepass")).groups[-1]

    found = read(robots, path, frozenset({Purpose.AI_TRAINING}))

    if last in rules.groups:
        assert any(r.category == "ai-train" for r in found)


@given(st.text(alphabet="abgimes/._-%", max_size=20), PATH)
def test_a_path_scoped_content_usage_never_reaches_outside_its_scope(
    scope: str, path: str
) -> None:
    scope = "/" + scope.lstrip("/")
    robots = f"User-agent: *\nContent-Usage: {scope} train-ai=n\n"

    found = read(robots, path, frozenset(Purpose))

    assert bool(found) == path.startswith(scope)


def test_a_5_mib_content_signal_line_costs_bounded_memory() -> None:
    value = "ai-train=no," * (5 * 1024 * 1024 // 12)
    body = f"User-agent: *\nContent-Signal: {value}\n".encode()

    tracemalloc.start()
    try:
        rules = Rules(parse(body, limit=len(body) + 1), TOKEN)
        found = refusals([e for g in rules.groups for e in g.extensions], "/", frozenset(Purpose))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert found  # the line was read: the bound is about real work
    # The input is 5 MiB; a copy of the line per refusal (hundreds of them) would be gigabytes.
    assert peak < 64 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"
    assert all(len(r.text) <= len("Content-Signal: ") + MAX_QUOTE + 3 for r in found)
