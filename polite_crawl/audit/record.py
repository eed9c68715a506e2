"""One audit record as the exact bytes of one JSONL line, and the check of one line.

    {"log":...,"prev":"<hash of the previous line>","seq":N,...,"v":1,"hash":"<hex>"}\n

The line is canonical JSON (sorted keys, no spaces, ASCII) of the record without `hash`, with
`,"hash":"<sha256 hex of those bytes>"` spliced in before the closing brace. The verifier checks
the bytes as stored, never a re-serialisation, and the Merkle leaf is the line without its
newline.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

VERSION = 1
GENESIS = "0" * 64


class RecordError(ValueError):
    pass


# One encoder for every line: json.dumps with options builds a new one per call (a third of
# the encoding time of a decision record).
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
)


def _c_encoder() -> Callable[[dict[str, Any]], str]:
    # JSONEncoder.encode builds its C encoder anew on every call (through iterencode); the
    # same C encoder built once saves that on the two records of every page (#21). No
    # circular-reference markers (a record is a tree: a cycle would end in RecursionError, not
    # in a line). Used only where it writes exactly what _CANONICAL writes.
    make = getattr(json.encoder, "c_make_encoder", None)
    slow = _CANONICAL.encode
    if make is None:
        return slow
    try:
        chunks = make(
            None,
            _CANONICAL.default,
            json.encoder.encode_basestring_ascii,
            None,
            ":",
            ",",
            True,
            False,
            False,
        )
    except TypeError:  # another signature: not this CPython's encoder
        return slow

    def fast(record: dict[str, Any]) -> str:
        return "".join(chunks(record, 0))

    sample = {"b": [1, 2.5, None, True], "a": {"z": '\u00e9\n"', "y": -0.0}, "c": 10**20}
    try:
        same = fast(sample) == slow(sample)
    except Exception:  # any failure means: do not use it
        same = False
    try:
        fast({"nan": float("nan")})  # allow_nan=False: refused, as _CANONICAL refuses it
        same = False
    except ValueError:
        pass
    return fast if same else slow


_ENCODE = _c_encoder()


def encode(record: dict[str, Any]) -> tuple[bytes, str]:
    """The line (with its newline) and its hash."""
    body = _ENCODE(record).encode()
    digest = hashlib.sha256(body).hexdigest()
    return body[:-1] + b',"hash":"' + digest.encode() + b'"}\n', digest


_HASH_FIELD = b',"hash":"'
_TAIL_LEN = len(_HASH_FIELD) + 64 + 2  # ,"hash":"<64 hex>"}
_HEX = frozenset(b"0123456789abcdef")
_DECODER = json.JSONDecoder()


def decode(line: bytes) -> tuple[dict[str, Any], str]:
    """Parse one line (without its newline) and check its own hash; return record and hash."""
    if b"\r" in line:
        # Canonical JSON never holds a raw CR; readers that split on it would see other lines.
        raise RecordError("the line holds a carriage return (not written by polite_crawl)")
    tail = line[-_TAIL_LEN:]
    if len(tail) != _TAIL_LEN or not tail.startswith(_HASH_FIELD) or not tail.endswith(b'"}'):
        raise RecordError("the line does not end with its hash")
    body = line[:-_TAIL_LEN] + b"}"
    digest = hashlib.sha256(body).hexdigest()
    if digest.encode() != tail[len(_HASH_FIELD) : -2]:
        # The computed digest is lowercase hex: a stored one that is not never matches.
        if not _HEX.issuperset(tail[len(_HASH_FIELD) : -2]):
            raise RecordError("the line does not end with its hash")
        raise RecordError("the line's content does not match its hash (modified)")
    try:
        # As UTF-8 text, never as the UTF-16/32 json.loads would guess from bytes.
        text = body.decode("utf-8")
        record, end = _DECODER.raw_decode(text)
        if end != len(text):
            raise ValueError(f"extra data at character {end}")
    except ValueError as exc:
        raise RecordError(f"not JSON ({exc})") from None
    except RecursionError:
        # A forger can hash any bytes: arrays nested thousands deep must not crash the reader.
        raise RecordError("not JSON (nested too deeply)") from None
    if not isinstance(record, dict):
        raise RecordError("not a JSON object")
    return record, digest
