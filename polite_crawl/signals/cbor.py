"""A small, bounded CBOR decoder (RFC 8949) for C2PA assertions, which are CBOR.

Untrusted input: nesting deeper than MAX_DEPTH, more than MAX_ITEMS data items, a length past
the end of the buffer or any malformation raises CBORError (and nothing else). A declared
length is checked against the bytes left before anything is allocated, so a header claiming a
2**64-element array costs nothing. Tags are dropped (their content is kept); bignums and other
exotic values decode to their content or to None: an opt-out never hides in them.
"""

from __future__ import annotations

import math
import struct
from typing import Any

MAX_DEPTH = 32
MAX_ITEMS = 100_000


class CBORError(ValueError):
    """The bytes are not a CBOR data item this decoder accepts."""


_SIMPLE = {20: False, 21: True, 22: None, 23: None}
_BREAK = object()


class _Decoder:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.items = 0

    def take(self, n: int) -> bytes:
        if n < 0 or n > len(self.data) - self.pos:
            raise CBORError(f"needs {n} bytes at offset {self.pos}, the data ends first")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def argument(self, info: int) -> int | None:
        """The argument of a head; None for indefinite length (info 31)."""
        if info < 24:
            return info
        if info == 31:
            return None
        sizes = {24: 1, 25: 2, 26: 4, 27: 8}
        if info not in sizes:
            raise CBORError(f"reserved additional information {info} at offset {self.pos}")
        return int.from_bytes(self.take(sizes[info]), "big")

    def item(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise CBORError(f"nested deeper than {MAX_DEPTH}")
        self.items += 1
        if self.items > MAX_ITEMS:
            raise CBORError(f"more than {MAX_ITEMS} data items")
        (head,) = self.take(1)
        major, info = head >> 5, head & 0x1F
        if major == 7:
            return self.simple(info)
        arg = self.argument(info)
        if major == 0:
            return self.definite(arg)
        if major == 1:
            return -1 - self.definite(arg)
        if major in (2, 3):
            return self.string(major, arg, depth)
        if major == 4:
            return self.array(arg, depth)
        if major == 5:
            return self.map(arg, depth)
        self.definite(arg)  # major 6: a tag; its content is the value
        return self.item(depth + 1)

    def definite(self, arg: int | None) -> int:
        if arg is None:
            raise CBORError(f"indefinite length not allowed here (offset {self.pos})")
        return arg

    def simple(self, info: int) -> Any:
        if info == 31:
            return _BREAK
        if info in _SIMPLE:
            return _SIMPLE[info]
        if info == 24:
            self.take(1)
            return None
        if info == 25:
            return _half(self.take(2))
        if info == 26:
            return float(struct.unpack(">f", self.take(4))[0])
        if info == 27:
            return float(struct.unpack(">d", self.take(8))[0])
        if info < 20:
            return None
        raise CBORError(f"reserved simple value {info} at offset {self.pos}")

    def string(self, major: int, arg: int | None, depth: int) -> bytes | str:
        if arg is None:  # indefinite: definite chunks of the same major type, then a break
            parts: list[bytes] = []
            while True:
                (head,) = self.take(1)
                if head == 0xFF:
                    break
                if head >> 5 != major:
                    raise CBORError("a chunk of another type inside an indefinite string")
                self.items += 1
                if self.items > MAX_ITEMS:
                    raise CBORError(f"more than {MAX_ITEMS} data items")
                parts.append(self.take(self.definite(self.argument(head & 0x1F))))
            raw = b"".join(parts)
        else:
            raw = self.take(arg)
        if major == 2:
            return raw
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CBORError("a text string that is not UTF-8") from None

    def array(self, arg: int | None, depth: int) -> list[Any]:
        out: list[Any] = []
        if arg is None:
            while (value := self.item(depth + 1)) is not _BREAK:
                out.append(value)
            return out
        if arg > len(self.data) - self.pos:  # every item takes at least one byte
            raise CBORError(f"an array of {arg} items in {len(self.data) - self.pos} bytes")
        for _ in range(arg):
            out.append(self.value(depth + 1))
        return out

    def map(self, arg: int | None, depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        if arg is not None and 2 * arg > len(self.data) - self.pos:
            raise CBORError(f"a map of {arg} pairs in {len(self.data) - self.pos} bytes")
        count = 0
        while arg is None or count < arg:
            key = self.item(depth + 1)
            if key is _BREAK:
                if arg is None:
                    return out
                raise CBORError(f"unexpected break at offset {self.pos}")
            value = self.value(depth + 1)
            if isinstance(key, (list, dict)):
                raise CBORError("a map key that is an array or a map")
            out[key] = value
            count += 1
        return out

    def value(self, depth: int) -> Any:
        value = self.item(depth)
        if value is _BREAK:
            raise CBORError(f"unexpected break at offset {self.pos}")
        return value


def _half(raw: bytes) -> float:
    (bits,) = struct.unpack(">H", raw)
    exponent, fraction = (bits >> 10) & 0x1F, bits & 0x3FF
    if exponent == 0:
        value = math.ldexp(fraction, -24)
    elif exponent == 31:
        value = math.inf if fraction == 0 else math.nan
    else:
        value = math.ldexp(fraction + 1024, exponent - 25)
    return -value if bits & 0x8000 else value


def loads(data: bytes) -> Any:
    """The one data item that is all of data. Raises CBORError only."""
    decoder = _Decoder(data)
    value = decoder.value(0)
    if decoder.pos != len(data):
        raise CBORError(f"{len(data) - decoder.pos} bytes after the data item")
    return value
