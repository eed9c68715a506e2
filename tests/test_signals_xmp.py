"""IPTC Data Mining (XMP plus:DataMining) read from real JPEG, PNG and WebP images, with the
packet spliced in the way ExifTool and friends write it."""

from __future__ import annotations

import zlib

import pytest

from polite_crawl.core.purposes import Purpose
from polite_crawl.signals import xmp
from polite_crawl.signals.mapping import TEXT_AND_DATA_MINING
from polite_crawl.testing.images import (
    PLUS_NS,
    VOCAB,
    base_image,
    png_chunk,
    with_xmp,
    xmp_packet,
)

FORMATS = ["jpeg", "png", "webp"]
P = Purpose

# The contract table (docs/signals.md), written out again here on purpose.
EXPECTED = {
    "DMI-UNSPECIFIED": set(),
    "DMI-ALLOWED": set(),
    "DMI-PROHIBITED-AIMLTRAINING": {P.AI_TRAINING, P.FACIAL_RECOGNITION},
    "DMI-PROHIBITED-GENAIMLTRAINING": {P.AI_TRAINING},
    "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING": set(TEXT_AND_DATA_MINING),
    "DMI-PROHIBITED": set(TEXT_AND_DATA_MINING) | {P.SEARCH_INDEXING},
    "DMI-PROHIBITED-SEECONSTRAINT": set(TEXT_AND_DATA_MINING) | {P.SEARCH_INDEXING},
    "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR": set(TEXT_AND_DATA_MINING) | {P.SEARCH_INDEXING},
    "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR": set(TEXT_AND_DATA_MINING) | {P.SEARCH_INDEXING},
}


def test_the_table_covers_every_iptc_value_and_nothing_else() -> None:
    assert set(xmp.DATA_MINING) == set(EXPECTED)
    assert P.ARCHIVING not in xmp.FORBIDDEN_ANYWHERE


@pytest.mark.parametrize("code", sorted(EXPECTED))
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_value_in_every_format(code: str, fmt: str) -> None:
    image = with_xmp(base_image(fmt), xmp_packet(VOCAB + code))

    (found,) = xmp.find(image)

    assert found.code == code
    assert found.raw == VOCAB + code
    assert set(found.forbids) == EXPECTED[code]


@pytest.mark.parametrize("form", ["attribute", "element", "resource"])
@pytest.mark.parametrize("prefix", ["plus", "Iptc4xmpPLUS", "ns1", "a.b-c_d"])
def test_any_prefix_bound_to_plus_and_every_rdf_form(form: str, prefix: str) -> None:
    image = with_xmp(base_image("jpeg"), xmp_packet(VOCAB + "DMI-PROHIBITED", form, prefix))

    (found,) = xmp.find(image)

    assert (found.code, found.form, found.where) == ("DMI-PROHIBITED", form, "JPEG APP1")


@pytest.mark.parametrize(
    "value", ["DMI-PROHIBITED-GENAIMLTRAINING", "  dmi-prohibited-genaimltraining\n"]
)
def test_a_bare_code_with_any_case_and_spacing(value: str) -> None:
    (found,) = xmp.find(with_xmp(base_image("png"), xmp_packet(value)))

    assert found.code == "DMI-PROHIBITED-GENAIMLTRAINING"


def test_an_unknown_value_counts_as_unset() -> None:
    (found,) = xmp.find(with_xmp(base_image("png"), xmp_packet(VOCAB + "DMI-PROHIBITED-MAYBE")))

    assert found.code is None
    assert found.forbids == frozenset()


def test_the_property_under_another_namespace_is_not_ours() -> None:
    packet = xmp_packet(VOCAB + "DMI-PROHIBITED", prefix="other").replace(
        PLUS_NS.encode(), b"http://example.org/not-plus/"
    )

    assert xmp.find(with_xmp(base_image("jpeg"), packet)) == []


def test_a_plus_default_namespace() -> None:
    packet = (
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description>'
        f'<DataMining xmlns="{PLUS_NS}">{VOCAB}DMI-PROHIBITED-AIMLTRAINING</DataMining>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()

    (found,) = xmp.find(with_xmp(base_image("webp"), packet))

    assert found.code == "DMI-PROHIBITED-AIMLTRAINING"


def test_a_value_wrapped_in_rdf_value_and_character_references() -> None:
    packet = xmp_packet(
        "<rdf:Description><rdf:value>&#x44;MI-PROHIBITED</rdf:value></rdf:Description>"
    )

    (found,) = xmp.find(with_xmp(base_image("jpeg"), packet))

    assert found.code == "DMI-PROHIBITED"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_a_utf16_packet(codec: str) -> None:
    packet = xmp_packet(VOCAB + "DMI-PROHIBITED").decode().encode(codec)

    (found,) = xmp.find(with_xmp(base_image("webp"), packet))

    assert found.code == "DMI-PROHIBITED"


def test_a_compressed_png_itxt() -> None:
    image = with_xmp(base_image("png"), xmp_packet("DMI-PROHIBITED"), compressed=True)

    assert [f.code for f in xmp.find(image)] == ["DMI-PROHIBITED"]


def test_a_zip_bomb_itxt_inflates_only_to_the_cap() -> None:
    # 64 MiB of spaces, then the property: the cap stops inflation long before it.
    packet = b" " * (64 * 1024 * 1024) + xmp_packet("DMI-PROHIBITED")
    data = b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + zlib.compress(packet, 9)
    image = base_image("png")
    image = image[:33] + png_chunk(b"iTXt", data) + image[33:]

    ((where, inflated),) = xmp.packets(image)

    assert where == "PNG iTXt"
    assert len(inflated) == xmp.MAX_PACKET
    assert xmp.find(image) == []


def test_an_itxt_with_another_keyword_is_not_xmp() -> None:
    image = base_image("png")
    data = b"Comment\x00\x00\x00\x00\x00" + xmp_packet("DMI-PROHIBITED")
    image = image[:33] + png_chunk(b"iTXt", data) + image[33:]

    assert xmp.find(image) == []


def test_a_jpeg_app1_that_is_exif_is_not_xmp() -> None:
    image = base_image("jpeg")
    segment = b"\xff\xe1" + (len(b"Exif\x00\x00" + b"x" * 10) + 2).to_bytes(2, "big")
    image = image[:2] + segment + b"Exif\x00\x00" + b"x" * 10 + image[2:]

    assert xmp.packets(image) == []


def test_no_metadata_and_not_an_image() -> None:
    assert xmp.find(base_image("jpeg")) == []
    assert xmp.find(b"<html>" + xmp_packet("DMI-PROHIBITED")) == []
    assert xmp.find(b"") == []


def test_several_values_are_all_reported() -> None:
    packet = xmp_packet("DMI-ALLOWED").replace(
        b"</rdf:RDF>",
        b'<rdf:Description plus:DataMining="DMI-PROHIBITED-AIMLTRAINING"/></rdf:RDF>',
    )

    found = xmp.find(with_xmp(base_image("jpeg"), packet))

    assert [f.code for f in found] == ["DMI-ALLOWED", "DMI-PROHIBITED-AIMLTRAINING"]


def test_many_compressed_packets_are_not_all_inflated() -> None:
    # A 4 MB PNG of thousands of small compressed iTXt chunks, each inflating to 1 MiB, must
    # not hold gigabytes: reading stops after the first few packets.
    import tracemalloc
    import zlib

    from polite_crawl.signals import xmp
    from polite_crawl.testing.images import base_image, png_chunk

    bomb = zlib.compress(b" " * xmp.MAX_PACKET, 9)
    text = b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + bomb
    image = base_image("png")
    image = image[:33] + png_chunk(b"iTXt", text) * 400 + image[33:]
    tracemalloc.start()
    try:
        found = xmp.packets(image)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(found) == xmp.MAX_PACKETS
    assert peak < (xmp.MAX_PACKETS + 4) * xmp.MAX_PACKET + len(image) * 2
