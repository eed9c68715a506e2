"""Every embedded-metadata parser on any bytes: no exception (the CBOR decoder raises CBORError
and nothing else), no hang (pytest-timeout fails a test that does not finish), bounded memory
(lengths are checked against the buffer before anything is allocated; inflation is capped)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polite_crawl.signals import c2pa, cbor, xmp
from polite_crawl.signals.containers import (
    MAX_PARTS,
    PNG_MAGIC,
    jpeg_segments,
    png_chunks,
    riff_chunks,
)
from polite_crawl.testing.images import (
    PLUS_NS,
    VOCAB,
    base_image,
    box,
    cbor_dumps,
    superbox,
    training_mining_store,
    with_c2pa,
    with_xmp,
    xmp_packet,
)

pytestmark = pytest.mark.timeout(300)
# Example counts come from the Hypothesis profile (tests/conftest.py; make fuzz runs many more).
FUZZ = settings(suppress_health_check=[HealthCheck.too_slow])

MAGICS = [b"\xff\xd8\xff", PNG_MAGIC, b"RIFF\xff\xff\xff\x7fWEBP"]


def _valid_images() -> list[bytes]:
    out = []
    for fmt in ("jpeg", "png", "webp"):
        image = base_image(fmt)
        image = with_xmp(image, xmp_packet(VOCAB + "DMI-PROHIBITED"), compressed=fmt == "png")
        store = training_mining_store({"cawg.ai_training": "constrained"}, manifests=2)
        out.append(with_c2pa(image, store, segment_size=64))
    return out


VALID = _valid_images()


def parse_all(data: bytes) -> None:
    xmp.find(data)
    c2pa.find(data)
    for packet in (data, data[:4096]):
        xmp.data_mining(packet)
        c2pa.entries(packet)
    list(jpeg_segments(data))
    list(png_chunks(data))
    list(riff_chunks(data))


@FUZZ
@given(st.binary(max_size=4096))
def test_any_bytes(data: bytes) -> None:
    parse_all(data)


@FUZZ
@given(st.sampled_from(MAGICS), st.binary(max_size=4096))
def test_any_bytes_behind_a_real_magic(magic: bytes, data: bytes) -> None:
    parse_all(magic + data)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 8))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "cut", "insert", "truncate", "duplicate"]))
        if op == "flip" and pos < len(data):
            data[pos] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[pos : pos + draw(st.integers(1, 64))]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        elif op == "truncate":
            del data[pos:]
        elif op == "duplicate":
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 256))]
    return bytes(data)


@FUZZ
@given(mutated())
def test_mutations_of_valid_images(data: bytes) -> None:
    parse_all(data)


XML_BITS = [
    "<",
    ">",
    "/",
    "=",
    '"',
    "'",
    " ",
    "plus",
    ":",
    "DataMining",
    "xmlns",
    PLUS_NS,
    VOCAB,
    "DMI-PROHIBITED",
    "rdf:resource",
    "&#x44;",
    "&amp;",
    "\x00",
    "\ufeff",
]


@FUZZ
@given(st.lists(st.sampled_from(XML_BITS) | st.text(max_size=8), max_size=200))
def test_xmp_scan_on_xml_like_text(parts: list[str]) -> None:
    packet = "".join(parts).encode("utf-8", errors="replace")
    for value in xmp.data_mining(packet):
        assert value.code is None or value.code in xmp.DATA_MINING
        assert len(value.raw) <= xmp.EVIDENCE_CHARS


cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64) + 1, 2**64 - 1) | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)


@FUZZ
@given(cbor_values)
def test_cbor_round_trip(value: object) -> None:
    assert cbor.loads(cbor_dumps(value)) == value


@FUZZ
@given(st.binary(max_size=2048))
def test_cbor_raises_only_its_own_error(data: bytes) -> None:
    with contextlib.suppress(cbor.CBORError):
        cbor.loads(data)


@FUZZ
@given(cbor_values, st.integers(0, 64), st.binary(min_size=1, max_size=8))
def test_cbor_mutated(value: object, pos: int, junk: bytes) -> None:
    data = cbor_dumps(value)
    data = data[:pos] + junk + data[pos + len(junk) :]
    with contextlib.suppress(cbor.CBORError):
        cbor.loads(data)


# Worst cases built on purpose: each must finish (pytest-timeout) and find what it should.


def test_a_packet_of_a_million_unclosed_property_tags() -> None:
    head = f'<x xmlns:plus="{PLUS_NS}">'.encode()
    packet = head + b"<plus:DataMining " * (xmp.MAX_PACKET // 17)

    assert xmp.data_mining(packet) == []


def test_a_packet_of_a_million_namespace_bindings() -> None:
    packet = f'xmlns:p="{PLUS_NS}" '.encode() * 30_000

    assert xmp.plus_prefixes(packet) == ([b"p"], False)


def test_a_jpeg_of_endless_empty_segments_stops_at_the_cap() -> None:
    image = b"\xff\xd8" + b"\xff\xfe\x00\x02" * (MAX_PARTS * 4) + b"\xff\xd9"

    assert len(list(jpeg_segments(image))) == MAX_PARTS


def test_jumbf_nested_deeper_than_the_limit() -> None:
    inner = superbox(
        "cawg.training-mining",
        [box(b"cbor", cbor_dumps({"entries": {"cawg.ai_training": {"use": "notAllowed"}}}))],
    )
    shallow = inner
    for _ in range(5):
        shallow = superbox("x", [shallow])
    deep = inner
    for _ in range(c2pa.MAX_DEPTH + 5):
        deep = superbox("x", [deep])

    assert len(c2pa.entries(shallow)) == 1
    assert c2pa.entries(deep) == []


def test_a_store_of_many_boxes_stops_at_the_budget() -> None:
    store = superbox("c2pa", [box(b"free", b"")] * (c2pa.MAX_BOXES * 3))

    assert c2pa.entries(store) == []
