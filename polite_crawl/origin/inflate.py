"""Content codings of origin files (robots.txt, tdmrep.json, ai.txt), undone within the parse
limit.

The limit is on what the parsers read, so it counts inflated bytes: a gzip bomb of 1.5 MB on the
wire and 600 MiB inflated must cost about the limit, not 600 MiB. The output stops one byte past
the limit, so that a file longer than the limit comes out longer than the limit and the parsers
treat it as they treat a plain file that long (robots.txt and ai.txt: whole lines up to the
limit; tdmrep.json: everything reserved).

Fail closed: a coding we did not ask for, a broken stream, or a stream cut short (the download
stopped, or the server sent less) that comes out no longer than the limit raise `UnreadableBody`:
the preflight then counts as unreachable. The last case cannot be read as whole lines up to the
limit, because nothing says where the file's real lines end.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

# What preflights ask for (Accept-Encoding). Both are zlib, in the standard library.
ACCEPTED = ("gzip", "deflate")
ACCEPT_ENCODING = ", ".join(ACCEPTED)
_GZIP = {"gzip", "x-gzip"}  # x-gzip: RFC 9110 §8.4.1.3 says to read it as gzip
_GZIP_MAGIC = b"\x1f\x8b"
MAX_CODINGS = 4  # codings applied one over another; more is no file anyone meant to serve


class UnreadableBody(ValueError):
    """The body cannot be read within the limit; the file counts as unreachable."""


def codings(values: Iterable[bytes]) -> list[str]:
    """The content codings of Content-Encoding header values, in the order applied (the last is
    undone first); `identity` and empty entries apply nothing."""
    found = []
    for value in values:
        for part in value.decode("latin-1").split(","):
            coding = part.strip().lower()
            if coding and coding != "identity":
                found.append(coding)
    return found


def inflate(body: bytes, applied: list[str], limit: int, *, cut: bool = False) -> bytes:
    """body with the codings undone, at most limit + 1 bytes. `cut`: the body is a prefix of
    what the server meant to send (the download was stopped at the limit)."""
    if len(applied) > MAX_CODINGS:
        raise UnreadableBody(f"{len(applied)} content codings (at most {MAX_CODINGS} are read)")
    for coding in reversed(applied):
        if coding in _GZIP:
            body, short = _gunzip(body, limit + 1)
        elif coding == "deflate":
            body, short = _inflate(body, limit + 1)
        else:
            raise UnreadableBody(
                f"Content-Encoding {coding!r}, not one that was asked for ({ACCEPT_ENCODING})"
            )
        cut = cut or short
    if cut and len(body) <= limit:
        raise UnreadableBody(
            f"a {'+'.join(applied)} body cut short at {len(body)} bytes, within the "
            f"{limit}-byte limit: its last line cannot be told from a whole one"
        )
    return body


def _gunzip(data: bytes, cap: int) -> tuple[bytes, bool]:
    """(output, whether it stops short of the whole stream). Members one after another are one
    body (RFC 1952 §2.2); bytes after the last member that start no member are ignored, as
    Scrapy's own gunzip does."""
    out = bytearray()
    while True:
        unpacker = zlib.decompressobj(31)
        try:
            out += unpacker.decompress(data, cap - len(out))
        except zlib.error as exc:
            raise UnreadableBody(f"broken gzip stream: {exc}") from None
        if len(out) >= cap:
            return bytes(out), True
        if not unpacker.eof:  # every input byte used, and the member not finished
            return bytes(out), True
        data = unpacker.unused_data
        if not data.startswith(_GZIP_MAGIC):
            return bytes(out), False


def _inflate(data: bytes, cap: int) -> tuple[bytes, bool]:
    """deflate is the zlib format (RFC 9110 §8.4.1.2); some servers send raw deflate instead."""
    try:
        return _stream(zlib.decompressobj(15), data, cap)
    except zlib.error:
        pass
    try:
        return _stream(zlib.decompressobj(-15), data, cap)
    except zlib.error as exc:
        raise UnreadableBody(f"broken deflate stream: {exc}") from None


def _stream(unpacker: zlib._Decompress, data: bytes, cap: int) -> tuple[bytes, bool]:
    out = unpacker.decompress(data, cap)
    return out, len(out) >= cap or not unpacker.eof
