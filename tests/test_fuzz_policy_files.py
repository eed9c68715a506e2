"""Property tests: policy and consent files are untrusted input. Whatever their bytes, loading
one either succeeds or raises PolicyError naming the file; never another exception. Beyond
random bytes, the shipped policies and a valid consent file are mutated field by field, so that
most examples are valid TOML and reach the validators."""

from __future__ import annotations

import copy
import datetime
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from polite_crawl.policy.loader import PolicyError, bundled_dir, load_consents, load_policy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SHIPPED = sorted(bundled_dir().glob("*.toml"))
CONSENTS = """[[grant]]
id = "reddit-research"
platform = "reddit"
purposes = ["research", "archiving"]
scope = ["https://www.reddit.com/r/science/"]
granted_by = "Reddit"
evidence_url = "https://example.org/g.pdf"
evidence_sha256 = "{sha}"
valid_from = 2026-01-01
valid_until = 2099-12-31

[[grant]]
id = "x-archive"
platform = "x"
purposes = ["archiving"]
granted_by = "X Corp."
evidence_url = "https://example.org/x.pdf"
evidence_sha256 = "{sha}"
valid_from = 2026-01-01
valid_until = 2026-12-31
""".format(sha="ab" * 32)

# One directory for the whole module: hypothesis runs a test's examples one after another, and
# a function-scoped tmp_path would be shared by all of them anyway.
_WORKDIR = Path(tempfile.mkdtemp(prefix="polite-fuzz-policy-"))


def write(name: str, data: bytes) -> Path:
    path = _WORKDIR / name
    path.write_bytes(data)
    return path


def load_or_policy_error(path: Path, *, consents: bool = False) -> bool:
    """True if the file loaded; False if it was refused with a PolicyError naming it."""
    try:
        if consents:
            load_consents(path)
        else:
            load_policy(path)
    except PolicyError as exc:
        message = str(exc)
    else:
        return True
    assert str(path) in message
    return False


# --- TOML out of Python values, to write mutated documents back -------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict), value
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(data: dict[str, Any]) -> str:
    return "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in data.items())


SCALARS = st.one_of(
    st.text(max_size=80),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.dates(),
    st.sampled_from(["allowed", "prohibited", "consent-required", "research", "reddit", ""]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into a nested document (dict keys and list indexes)."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            out += paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            out += paths(child, (*prefix, index))
    return out


@st.composite
def mutated(draw: st.DrawFn, original: dict[str, Any]) -> dict[str, Any]:
    """The document with a few fields deleted, replaced, retyped, duplicated or added."""
    data = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 4))):
        targets = paths(data)
        if not targets:
            break
        where = draw(st.sampled_from(targets))
        parent: Any = data
        for step in where[:-1]:
            parent = parent[step]
        last = where[-1]
        action = draw(st.sampled_from(["delete", "replace", "duplicate", "add"]))
        if action == "delete":
            del parent[last]
        elif action == "replace":
            parent[last] = draw(VALUES)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(parent[last])
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(VALUES)
    return data


# --- the properties ---------------------------------------------------------------------------


@given(st.binary(max_size=4096))
@example(b"id = " + b"[" * 5000)  # nesting deep enough to exhaust a recursive parser
@example(b"\xff\xfe" + "id = 'x'".encode("utf-16-le"))
def test_any_bytes_as_a_policy_file(data: bytes) -> None:
    load_or_policy_error(write("reddit.toml", data))


@given(st.binary(max_size=4096))
@example(b"[[grant]]\nid = " + b"{a = " * 3000)
def test_any_bytes_as_a_consent_file(data: bytes) -> None:
    load_or_policy_error(write("consents.toml", data), consents=True)


@given(st.text(max_size=2000))
def test_any_text_as_a_policy_file(text: str) -> None:
    load_or_policy_error(write("reddit.toml", text.encode("utf-8", "surrogatepass")))


@given(st.sampled_from(SHIPPED), st.data())
def test_a_shipped_policy_mutated(path: Path, data: st.DataObject) -> None:
    original = tomllib.loads(path.read_text(encoding="utf-8"))
    document = toml_document(data.draw(mutated(original)))

    load_or_policy_error(write(path.name, document.encode("utf-8", "surrogatepass")))


@given(st.sampled_from(SHIPPED), st.data())
def test_a_shipped_policy_with_its_bytes_damaged(path: Path, data: st.DataObject) -> None:
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(raw) - 1))
        kind = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if kind == "flip":
            raw[at] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "cut":
            del raw[at : at + data.draw(st.integers(1, 64))]
        else:
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=16))
        if not raw:
            break

    load_or_policy_error(write(path.name, bytes(raw)))


@given(st.data())
def test_a_valid_consent_file_mutated(data: st.DataObject) -> None:
    document = toml_document(data.draw(mutated(tomllib.loads(CONSENTS))))

    load_or_policy_error(
        write("consents.toml", document.encode("utf-8", "surrogatepass")), consents=True
    )


# --- the harness itself: mutations start from documents that load -----------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_a_shipped_policy_written_back_unmutated_loads(path: Path) -> None:
    original = tomllib.loads(path.read_text(encoding="utf-8"))

    assert load_or_policy_error(write(path.name, toml_document(original).encode()))


def test_the_consent_file_written_back_unmutated_loads() -> None:
    document = toml_document(tomllib.loads(CONSENTS))

    assert load_or_policy_error(write("consents.toml", document.encode()), consents=True)


def test_deep_nesting_is_refused_with_the_file_named() -> None:
    path = write("reddit.toml", b"id = " + b"[" * 100_000)

    with pytest.raises(PolicyError, match="nested too deeply"):
        load_policy(path)
