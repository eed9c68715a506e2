"""Images with embedded opt-outs, for tests and the demo: real JPEG/PNG/WebP bytes (made with
Pillow, imported only here) with an XMP packet or a C2PA manifest store spliced in the way
producers write them. The parsers under test never see how these were built."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

PLUS_NS = "http://ns.useplus.org/ldf/xmp/1.0/"
VOCAB = "http://ns.useplus.org/ldf/vocab/"
_CBOR_UUID = bytes.fromhex("63626F7200110010800000AA00389B71")
_JUMBF_UUID = bytes.fromhex("6332706100110010800000AA00389B71")  # "c2pa"


def base_image(fmt: str, color: tuple[int, int, int] = (200, 30, 30), size: int = 8) -> bytes:
    """A small valid image: fmt is "jpeg", "png" or "webp"."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, format=fmt.upper())
    return out.getvalue()


def xmp_packet(value: str, form: str = "element", prefix: str = "plus") -> bytes:
    """An XMP packet whose Data Mining property is `value`, written as an "attribute" of
    rdf:Description, an "element" with text, or a "resource" (rdf:resource)."""
    if form == "attribute":
        description = f'<rdf:Description rdf:about="" {prefix}:DataMining="{value}"/>'
    elif form == "resource":
        description = (
            f'<rdf:Description rdf:about="">'
            f'<{prefix}:DataMining rdf:resource="{value}"/></rdf:Description>'
        )
    else:
        description = (
            f'<rdf:Description rdf:about="">'
            f"<{prefix}:DataMining>{value}</{prefix}:DataMining></rdf:Description>"
        )
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        f'xmlns:{prefix}="{PLUS_NS}">{description}</rdf:RDF></x:xmpmeta>'
        '<?xpacket end="w"?>'
    ).encode()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def riff_chunk(fourcc: bytes, data: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) & 1 else b"")


def _after_png_header(image: bytes, chunk: bytes) -> bytes:
    ihdr_end = 8 + 8 + 13 + 4
    return image[:ihdr_end] + chunk + image[ihdr_end:]


def _riff_append(image: bytes, chunk: bytes) -> bytes:
    body = image[12:] + chunk
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def _jpeg_insert(image: bytes, segments: list[bytes]) -> bytes:
    return image[:2] + b"".join(segments) + image[2:]


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def with_xmp(image: bytes, packet: bytes, *, compressed: bool = False) -> bytes:
    """image (JPEG, PNG or WebP bytes) with the XMP packet where that format keeps it."""
    if image.startswith(b"\xff\xd8"):
        return _jpeg_insert(
            image, [jpeg_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + packet)]
        )
    if image.startswith(b"\x89PNG"):
        text = zlib.compress(packet) if compressed else packet
        data = b"XML:com.adobe.xmp\x00" + bytes([int(compressed), 0]) + b"\x00\x00" + text
        return _after_png_header(image, png_chunk(b"iTXt", data))
    return _riff_append(image, riff_chunk(b"XMP ", packet))


def cbor_dumps(value: Any) -> bytes:
    """A minimal CBOR encoder (definite lengths) for the values assertions hold."""

    def head(major: int, n: int) -> bytes:
        if n < 24:
            return bytes([major << 5 | n])
        for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
            if n < 1 << (8 * size):
                return bytes([major << 5 | info]) + n.to_bytes(size, "big")
        raise ValueError(n)

    if value is False or value is True or value is None:
        return bytes([{False: 0xF4, True: 0xF5, None: 0xF6}[value]])
    if isinstance(value, int):
        return head(0, value) if value >= 0 else head(1, -1 - value)
    if isinstance(value, bytes):
        return head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode()
        return head(3, len(raw)) + raw
    if isinstance(value, list):
        return head(4, len(value)) + b"".join(cbor_dumps(v) for v in value)
    if isinstance(value, dict):
        return head(5, len(value)) + b"".join(
            cbor_dumps(k) + cbor_dumps(v) for k, v in value.items()
        )
    raise TypeError(type(value))


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def superbox(label: str, children: list[bytes], uuid: bytes = _JUMBF_UUID) -> bytes:
    """A JUMBF superbox: a jumd description box carrying the label, then the children."""
    jumd = box(b"jumd", uuid + b"\x03" + label.encode() + b"\x00")
    return box(b"jumb", jumd + b"".join(children))


def training_mining_store(
    entries: dict[str, str], label: str = "cawg.training-mining", *, manifests: int = 1
) -> bytes:
    """A C2PA manifest store whose last manifest holds a training-mining assertion with
    `entries` (entry name -> use); the others hold only an unrelated assertion."""
    assertion = superbox(
        label,
        [box(b"cbor", cbor_dumps({"entries": {k: {"use": v} for k, v in entries.items()}}))],
        _CBOR_UUID,
    )
    other = superbox("c2pa.actions", [box(b"cbor", cbor_dumps({"actions": []}))], _CBOR_UUID)
    out = []
    for n in range(manifests):
        held = [other, assertion] if n == manifests - 1 else [other]
        out.append(
            superbox(
                f"urn:uuid:0000000{n}-0000-0000-0000-000000000000",
                [superbox("c2pa.assertions", held)],
            )
        )
    return superbox("c2pa", out)


def with_c2pa(
    image: bytes, store: bytes, *, segment_size: int = 65000, instance: int = 1
) -> bytes:
    """image with the manifest store where that format keeps it; in JPEG, split into APP11
    segments of at most segment_size bytes of the store, each after the first repeating the
    superbox's LBox/TBox."""
    if image.startswith(b"\xff\xd8"):
        header, pos, sequence, segments = store[:8], 0, 1, []
        while pos < len(store):
            part = store[pos : pos + segment_size]
            body = part if sequence == 1 else header + part
            payload = b"JP" + struct.pack(">HI", instance, sequence) + body
            segments.append(jpeg_segment(0xEB, payload))
            pos += segment_size
            sequence += 1
        return _jpeg_insert(image, segments)
    if image.startswith(b"\x89PNG"):
        return _after_png_header(image, png_chunk(b"caBX", store))
    return _riff_append(image, riff_chunk(b"C2PA", store))
