"""C2PA / CAWG training-mining assertions read from real JPEG, PNG and WebP images, and the
bounded CBOR decoder under them."""

from __future__ import annotations

import math
import struct

import pytest

from polite_crawl.core.purposes import Purpose
from polite_crawl.signals import c2pa, cbor
from polite_crawl.signals.mapping import TEXT_AND_DATA_MINING
from polite_crawl.testing.images import (
    base_image,
    box,
    cbor_dumps,
    superbox,
    training_mining_store,
    with_c2pa,
)

FORMATS = ["jpeg", "png", "webp"]
P = Purpose
EXPECTED = {
    "ai_generative_training": {P.AI_TRAINING},
    "ai_training": {P.AI_TRAINING, P.FACIAL_RECOGNITION},
    "ai_inference": {P.AI_INPUT, P.FACIAL_RECOGNITION},
    "data_mining": set(TEXT_AND_DATA_MINING),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("namespace", ["c2pa", "cawg"])
@pytest.mark.parametrize("entry", sorted(EXPECTED))
@pytest.mark.parametrize("use", ["notAllowed", "constrained"])
def test_not_allowed_and_constrained_forbid(
    fmt: str, namespace: str, entry: str, use: str
) -> None:
    store = training_mining_store({f"{namespace}.{entry}": use}, f"{namespace}.training-mining")

    (found,) = c2pa.find(with_c2pa(base_image(fmt), store))

    assert (found.label, found.entry, found.use) == (
        f"{namespace}.training-mining",
        f"{namespace}.{entry}",
        use,
    )
    assert set(found.forbids) == EXPECTED[entry]


@pytest.mark.parametrize("use", ["allowed", "maybe", ""])
def test_allowed_and_unknown_uses_forbid_nothing(use: str) -> None:
    store = training_mining_store({"cawg.ai_training": use})

    (found,) = c2pa.find(with_c2pa(base_image("png"), store))

    assert found.forbids == frozenset()


def test_a_custom_entry_forbids_nothing_we_know_of() -> None:
    store = training_mining_store({"com.example.ai_training": "notAllowed"})

    (found,) = c2pa.find(with_c2pa(base_image("png"), store))

    assert found.forbids == frozenset()


@pytest.mark.parametrize("label", ["cawg.training-mining__1", "c2pa.training-mining__12"])
def test_an_instance_suffix_on_the_label(label: str) -> None:
    store = training_mining_store({"cawg.data_mining": "notAllowed"}, label)

    assert [f.label for f in c2pa.find(with_c2pa(base_image("webp"), store))] == [label]


def test_another_assertion_label_is_not_read() -> None:
    store = training_mining_store({"cawg.ai_training": "notAllowed"}, "cawg.training-mining-x")

    assert c2pa.find(with_c2pa(base_image("png"), store)) == []


def test_any_manifest_in_the_store_counts() -> None:
    store = training_mining_store({"cawg.ai_training": "notAllowed"}, manifests=3)

    (found,) = c2pa.find(with_c2pa(base_image("jpeg"), store))

    assert found.use == "notAllowed"


@pytest.mark.parametrize("segment_size", [40, 97, 300])
def test_a_store_split_over_several_app11_segments(segment_size: int) -> None:
    store = training_mining_store(
        {"cawg.ai_inference": "constrained", "cawg.data_mining": "allowed"}, manifests=2
    )
    image = with_c2pa(base_image("jpeg"), store, segment_size=segment_size)
    assert image.count(b"\xff\xeb") > 1

    assert c2pa.stores(image) == [("JPEG APP11 (box instance 1)", store)]
    assert {(f.entry, f.use) for f in c2pa.find(image)} == {
        ("cawg.ai_inference", "constrained"),
        ("cawg.data_mining", "allowed"),
    }


def test_app11_segments_out_of_order_and_of_two_box_instances() -> None:
    one = training_mining_store({"cawg.ai_training": "notAllowed"})
    two = training_mining_store({"c2pa.data_mining": "constrained"}, "c2pa.training-mining")
    jpeg = base_image("jpeg")
    first = with_c2pa(jpeg, one, segment_size=60, instance=1)[2 : -len(jpeg) + 2]
    second = with_c2pa(jpeg, two, segment_size=60, instance=2)[2 : -len(jpeg) + 2]
    segments = _split_segments(first) + _split_segments(second)
    image = jpeg[:2] + b"".join(reversed(segments)) + jpeg[2:]

    assert [s for _, s in c2pa.stores(image)] == [one, two]
    assert {f.entry for f in c2pa.find(image)} == {"cawg.ai_training", "c2pa.data_mining"}


def _split_segments(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        (length,) = struct.unpack_from(">H", data, pos + 2)
        out.append(data[pos : pos + 2 + length])
        pos += 2 + length
    return out


def test_a_json_assertion_is_read_too() -> None:
    assertion = superbox(
        "c2pa.training-mining",
        [box(b"json", b'{"entries": {"c2pa.ai_training": {"use": "notAllowed"}}}')],
    )
    store = superbox("c2pa", [superbox("urn:uuid:x", [superbox("c2pa.assertions", [assertion])])])

    (found,) = c2pa.find(with_c2pa(base_image("png"), store))

    assert found.entry == "c2pa.ai_training"


@pytest.mark.parametrize(
    "content",
    [{"entries": []}, {"entries": {"cawg.ai_training": "notAllowed"}}, [], "x", {1: 2}],
)
def test_assertions_of_the_wrong_shape_are_ignored(content: object) -> None:
    assertion = superbox("cawg.training-mining", [box(b"cbor", cbor_dumps(content))])
    store = superbox("c2pa", [assertion])

    assert c2pa.find(with_c2pa(base_image("png"), store)) == []


def test_no_store_and_not_an_image() -> None:
    assert c2pa.find(base_image("jpeg")) == []
    assert c2pa.find(training_mining_store({"cawg.ai_training": "notAllowed"})) == []


# --- CBOR -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "value"),
    [
        ("00", 0),
        ("17", 23),
        ("1818", 24),
        ("1903e8", 1000),
        ("1b000000e8d4a51000", 1000000000000),
        ("20", -1),
        ("3903e7", -1000),
        ("f4", False),
        ("f5", True),
        ("f6", None),
        ("f93c00", 1.0),
        ("f90001", 5.960464477539063e-8),
        ("fa47c35000", 100000.0),
        ("fb3ff199999999999a", 1.1),
        ("4401020304", b"\x01\x02\x03\x04"),
        ("6449455446", "IETF"),
        ("83010203", [1, 2, 3]),
        ("a26161016162820203", {"a": 1, "b": [2, 3]}),
        ("9f018202039f0405ffff", [1, [2, 3], [4, 5]]),
        ("bf6346756ef563416d7421ff", {"Fun": True, "Amt": -2}),
        ("5f42010243030405ff", b"\x01\x02\x03\x04\x05"),
        ("7f657374726561646d696e67ff", "streaming"),
        ("c074323031332d30332d32315432303a30343a30305a", "2013-03-21T20:04:00Z"),
    ],
)
def test_cbor_rfc8949_examples(data: str, value: object) -> None:
    assert cbor.loads(bytes.fromhex(data)) == value


def test_cbor_half_float_specials() -> None:
    assert cbor.loads(bytes.fromhex("f97c00")) == math.inf
    assert math.isnan(cbor.loads(bytes.fromhex("f97e00")))
    assert cbor.loads(bytes.fromhex("f9c400")) == -4.0


@pytest.mark.parametrize(
    "data",
    [
        "",  # nothing
        "18",  # a one-byte argument missing
        "1c",  # reserved additional information
        "9b7fffffffffffffff",  # 2**63 items claimed, none there
        "bb7fffffffffffffff",  # same for a map
        "5b7fffffffffffffff00",  # a byte string longer than the data
        "62c328",  # text that is not UTF-8
        "ff",  # a break outside any indefinite item
        "0000",  # bytes after the item
        "a1810000",  # an array as a map key
        "5f6161ff",  # a text chunk in an indefinite byte string
        "81",  # an array of one item, the item missing
        "f8",  # a one-byte simple value missing its byte
        "fc",  # reserved simple value
    ],
)
def test_cbor_malformed_raises_only_cbor_error(data: str) -> None:
    with pytest.raises(cbor.CBORError):
        cbor.loads(bytes.fromhex(data))


def test_cbor_nesting_and_item_limits() -> None:
    with pytest.raises(cbor.CBORError, match="deeper"):
        cbor.loads(b"\x81" * (cbor.MAX_DEPTH + 5) + b"\x00")
    cbor.loads(b"\x81" * (cbor.MAX_DEPTH - 1) + b"\x00")
    many = b"\x9f" + b"\x00" * (cbor.MAX_ITEMS + 10) + b"\xff"
    with pytest.raises(cbor.CBORError, match="items"):
        cbor.loads(many)
