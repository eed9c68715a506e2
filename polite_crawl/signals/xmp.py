"""IPTC Photo Metadata "Data Mining" (XMP `plus:DataMining`, IPTC 2023.1) embedded in JPEG, PNG
and WebP images.

Where the XMP packet is:
- JPEG: an APP1 segment starting `http://ns.adobe.com/xap/1.0/\\0`;
- PNG: an `iTXt` chunk with keyword `XML:com.adobe.xmp`, compressed or not (inflated up to
  MAX_PACKET bytes: a zip bomb stops there);
- WebP: the RIFF `XMP ` chunk.

The packet is untrusted XML. It is not given to an XML parser (entity expansion, deep nesting):
a bounded scan looks for the PLUS namespace URI, the prefixes bound to it (any name, not only
`plus`), and the property in its three RDF forms: an attribute (`plus:DataMining="..."`), an
element's text (`<plus:DataMining>...</plus:DataMining>`), or a resource
(`<plus:DataMining rdf:resource="..."/>`). Values are PLUS vocabulary URIs
(`http://ns.useplus.org/ldf/vocab/DMI-...`) or the bare codes; an unknown value counts as unset.
Namespace scoping is not tracked: a prefix bound to PLUS anywhere in the packet counts
everywhere, which can only make us stricter.

What each value forbids is DATA_MINING below (one table; docs/signals.md shows it).
"""

from __future__ import annotations

import html
import re
import zlib
from dataclasses import dataclass

from polite_crawl.core.purposes import Purpose
from polite_crawl.signals.containers import image_format, jpeg_segments, png_chunks, riff_chunks
from polite_crawl.signals.mapping import TEXT_AND_DATA_MINING
from polite_crawl.signals.text import decode_utf16_32

PLUS_NS = b"http://ns.useplus.org/ldf/xmp/1.0/"
VOCAB = "http://ns.useplus.org/ldf/vocab/"
JPEG_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"

MAX_PACKET = 1024 * 1024  # bytes of one packet read (after inflation); XMP is a few KiB
MAX_PACKETS = 8  # packets read per image (a file should carry one)
MAX_PREFIXES = 16  # distinct prefixes bound to the PLUS namespace that are looked at
MAX_BINDINGS = 512  # xmlns declarations looked at per packet
MAX_OCCURRENCES = 64  # occurrences of the property looked at per prefix
MAX_TAG = 4096  # bytes of one start tag
MAX_VALUE = 4096  # bytes of one value (an element's content up to its end tag)
EVIDENCE_CHARS = 200  # what an audit record keeps of a value found

_ANY_PURPOSE: frozenset[Purpose] = frozenset()
_AI_TRAINING = frozenset({Purpose.AI_TRAINING})
_STRICT = TEXT_AND_DATA_MINING | {Purpose.SEARCH_INDEXING}

# IPTC Data Mining value -> the declared purposes it forbids. Facial recognition is training or
# applying a model on faces: "AI/ML training" covers it, "generative AI/ML training" does not.
# The three "see ..." values point to a constraint or rights expression we cannot evaluate:
# read strictly, as "prohibited" (which also forbids search indexing: only
# PROHIBITED-EXCEPTSEARCHENGINEINDEXING carves that out).
DATA_MINING: dict[str, frozenset[Purpose]] = {
    "DMI-UNSPECIFIED": _ANY_PURPOSE,
    "DMI-ALLOWED": _ANY_PURPOSE,
    "DMI-PROHIBITED-AIMLTRAINING": frozenset({Purpose.AI_TRAINING, Purpose.FACIAL_RECOGNITION}),
    "DMI-PROHIBITED-GENAIMLTRAINING": _AI_TRAINING,
    "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING": TEXT_AND_DATA_MINING,
    "DMI-PROHIBITED": _STRICT,
    "DMI-PROHIBITED-SEECONSTRAINT": _STRICT,
    "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR": _STRICT,
    "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR": _STRICT,
}
FORBIDDEN_ANYWHERE = frozenset().union(*DATA_MINING.values())

_NAME = re.compile(rb"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
_RESOURCE = re.compile(
    rb"""(?:^|\s)(?:[A-Za-z_][\w.-]{0,63}:)?resource\s*=\s*(?:"([^"]*)"|'([^']*)')"""
)
_TAGS = re.compile(rb"<[^<>]{0,4096}>")


@dataclass(frozen=True, slots=True)
class DataMiningValue:
    code: str | None  # the DMI code, None when the value is not in the vocabulary
    raw: str  # the value as found, cut to EVIDENCE_CHARS
    form: str  # "attribute", "element" or "resource"
    where: str  # the container part it came from, e.g. "JPEG APP1"

    @property
    def forbids(self) -> frozenset[Purpose]:
        return DATA_MINING.get(self.code, _ANY_PURPOSE) if self.code else _ANY_PURPOSE


def packets(data: bytes) -> list[tuple[str, bytes]]:
    """(where, packet) for each XMP packet embedded in a JPEG, PNG or WebP image."""
    out: list[tuple[str, bytes]] = []
    kind = image_format(data)
    if kind == "jpeg":
        for marker, payload in jpeg_segments(data):
            if marker == 0xE1 and payload.startswith(JPEG_XMP_HEADER):
                out.append(("JPEG APP1", payload[len(JPEG_XMP_HEADER) :][:MAX_PACKET]))
    elif kind == "png":
        # Each iTXt may inflate to MAX_PACKET: stop at MAX_PACKETS, or a small file of many
        # compressed chunks would hold MAX_PACKET times thousands in memory.
        for chunk, payload in png_chunks(data):
            if chunk == b"iTXt" and (packet := _itxt(payload)) is not None:
                out.append(("PNG iTXt", packet))
                if len(out) >= MAX_PACKETS:
                    break
    elif kind == "webp":
        for fourcc, payload in riff_chunks(data):
            if fourcc == b"XMP ":
                out.append(("WebP XMP chunk", payload[:MAX_PACKET]))
    return out[:MAX_PACKETS]


def _itxt(payload: bytes) -> bytes | None:
    # keyword \0 compression-flag compression-method language \0 translated-keyword \0 text
    keyword, sep, rest = payload.partition(b"\x00")
    if not sep or keyword != PNG_XMP_KEYWORD or len(rest) < 2:
        return None
    flag, method = rest[0], rest[1]
    _lang, sep, rest = rest[2:].partition(b"\x00")
    _translated, sep2, text = rest.partition(b"\x00")
    if not (sep and sep2):
        return None
    if flag == 0:
        return text[:MAX_PACKET]
    if method != 0:
        return None
    try:
        # max_length caps the output: what is past the cap stays unread.
        return zlib.decompressobj().decompress(text, MAX_PACKET)
    except zlib.error:
        return None


def _as_utf8(packet: bytes) -> bytes:
    # XMP allows UTF-16 and UTF-32 packets; the names we look for are ASCII.
    text = decode_utf16_32(packet)
    if text is not None:
        return text.encode("utf-8")
    head = packet[:64]
    if head.count(b"\x00") * 3 >= len(head) > 0:
        codec = "utf-16-be" if head.startswith(b"\x00") else "utf-16-le"
        return packet.decode(codec, errors="replace").encode("utf-8")
    return packet


def plus_prefixes(packet: bytes) -> tuple[list[bytes], bool]:
    """Prefixes bound to the PLUS namespace, and whether it is a default namespace."""
    prefixes: list[bytes] = []
    default = False
    pos = 0
    for _ in range(MAX_BINDINGS):
        at = packet.find(b"xmlns", pos)
        if at < 0:
            break
        pos = at + 5
        name = b""
        if packet[pos : pos + 1] == b":":
            match = _NAME.match(packet, pos + 1)
            if match is None:
                continue
            name, pos = match.group(), match.end()
        uri, pos = _quoted_after_equals(packet, pos)
        if uri is None or uri.strip() != PLUS_NS:
            continue
        if not name:
            default = True
        elif name not in prefixes and len(prefixes) < MAX_PREFIXES:
            prefixes.append(name)
    return prefixes, default


def _quoted_after_equals(text: bytes, pos: int) -> tuple[bytes | None, int]:
    """The quoted value of `= "..."` at pos, and where it ends."""
    window = text[pos : pos + MAX_TAG]
    stripped = window.lstrip()
    if not stripped.startswith(b"="):
        return None, pos
    rest = stripped[1:].lstrip()
    if not rest or rest[:1] not in (b'"', b"'"):
        return None, pos
    end = rest.find(rest[:1], 1)
    if end < 0:
        return None, pos
    consumed = len(window) - len(rest) + end + 1
    return rest[1:end], pos + consumed


def data_mining(packet: bytes) -> list[DataMiningValue]:
    """Every `plus:DataMining` value in one packet (without `where`: see find)."""
    text = _as_utf8(packet[:MAX_PACKET])
    prefixes, default = plus_prefixes(text)
    names = [p + b":DataMining" for p in prefixes] + ([b"DataMining"] if default else [])
    found: list[DataMiningValue] = []
    for name in names:
        pos = 0
        for _ in range(MAX_OCCURRENCES):
            at = text.find(name, pos)
            if at < 0:
                break
            pos = at + len(name)
            before = text[at - 1 : at]
            after = text[pos : pos + 1]
            if before == b"<" and (after.isspace() or after in (b">", b"/")):
                found += _element(text, pos, name)
            elif name != b"DataMining" and (before.isspace() or before in (b'"', b"'")):
                value, _ = _quoted_after_equals(text, pos)  # an attribute of rdf:Description
                if value is not None:
                    found.append(_value(value, "attribute"))
    return found


def _element(text: bytes, pos: int, name: bytes) -> list[DataMiningValue]:
    end = text.find(b">", pos, pos + MAX_TAG)
    if end < 0:
        return []
    attributes = text[pos:end]
    resource = _RESOURCE.search(attributes)
    if resource is not None:
        return [_value(resource.group(1) or resource.group(2) or b"", "resource")]
    if attributes.endswith(b"/"):
        return []
    close = text.find(b"</" + name, end, end + 1 + MAX_VALUE)
    content = text[end + 1 : close] if close >= 0 else b""
    # A value wrapped in rdf:Description/rdf:value: its text is what counts.
    return [_value(_TAGS.sub(b"", content), "element")] if content.strip() else []


def _value(raw: bytes, form: str) -> DataMiningValue:
    value = html.unescape(raw[:MAX_VALUE].decode("utf-8", errors="replace")).strip()
    code = value[len(VOCAB) :] if value.lower().startswith(VOCAB) else value
    code = code.strip().upper()
    return DataMiningValue(code if code in DATA_MINING else None, value[:EVIDENCE_CHARS], form, "")


def find(data: bytes) -> list[DataMiningValue]:
    """Every Data Mining value embedded in an image; [] for anything else. Never raises."""
    out: list[DataMiningValue] = []
    for where, packet in packets(data):
        for value in data_mining(packet):
            out.append(DataMiningValue(value.code, value.raw, value.form, where))
    return out
