"""Bounded walks over the image containers that carry embedded metadata: JPEG marker segments,
PNG chunks, RIFF (WebP) chunks.

The bytes are untrusted. Every walk reads only inside the buffer, never follows a length past
its end, and stops after MAX_PARTS segments or chunks: a crafted file costs at most that many
steps, whatever it claims. A walk that meets garbage stops there and yields what it had.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

MAX_PARTS = 4096  # segments or chunks looked at in one image; real files have a few dozen

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def image_format(data: bytes) -> str | None:
    """ "jpeg", "png" or "webp" from the magic bytes; None for anything else."""
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    if data.startswith(PNG_MAGIC):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


# Markers without a length field: SOI, EOI, TEM and the restart markers.
_STANDALONE = frozenset({0xD8, 0xD9, 0x01, *range(0xD0, 0xD8)})
_SOS = 0xDA  # start of scan: entropy-coded data follows, metadata segments come before it


def jpeg_segments(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(marker, payload) of each marker segment before the image data."""
    if not data.startswith(JPEG_MAGIC):
        return
    pos = 2
    for _ in range(MAX_PARTS):
        # Fill bytes (0xFF runs) may precede a marker.
        while pos < len(data) and data[pos] == 0xFF and pos + 1 < len(data):
            if data[pos + 1] != 0xFF:
                break
            pos += 1
        if pos + 2 > len(data) or data[pos] != 0xFF:
            return
        marker = data[pos + 1]
        pos += 2
        if marker in _STANDALONE:
            if marker == 0xD9:
                return
            continue
        if pos + 2 > len(data):
            return
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2 or pos + length > len(data):
            return
        yield marker, data[pos + 2 : pos + length]
        if marker == _SOS:
            return
        pos += length


def png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(type, data) of each PNG chunk; CRCs are not checked (a bad CRC hides no opt-out)."""
    if not data.startswith(PNG_MAGIC):
        return
    pos = len(PNG_MAGIC)
    for _ in range(MAX_PARTS):
        if pos + 8 > len(data):
            return
        length, kind = struct.unpack_from(">I4s", data, pos)
        start = pos + 8
        if start + length > len(data):
            return
        yield kind, data[start : start + length]
        if kind == b"IEND":
            return
        pos = start + length + 4  # the CRC


def riff_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(fourcc, data) of each top-level chunk of a RIFF WebP file."""
    if image_format(data) != "webp":
        return
    (declared,) = struct.unpack_from("<I", data, 4)
    end = min(len(data), 8 + declared)
    pos = 12
    for _ in range(MAX_PARTS):
        if pos + 8 > end:
            return
        fourcc, length = struct.unpack_from("<4sI", data, pos)
        start = pos + 8
        if start + length > end:
            return
        yield fourcc, data[start : start + length]
        pos = start + length + (length & 1)  # chunks are padded to an even size
