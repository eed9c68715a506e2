"""Text of untrusted bytes that announce their encoding with a byte-order mark."""

from __future__ import annotations

_BOMS = (  # the 4-byte UTF-32 marks first: UTF-16-LE's mark is a prefix of UTF-32-LE's
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def decode_utf16_32(data: bytes) -> str | None:
    """The text of data when it starts with a UTF-16 or UTF-32 byte-order mark (the mark
    dropped, undecodable units replaced); None when it has no such mark."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    return None
