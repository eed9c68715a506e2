"""How the per-origin caches keep origin-level files small enough for a million origins.

A cached file costs what its bytes cost, not what its parsed form costs (a parsed robots.txt
is several times larger than the text):

- each distinct content is kept once, interned by sha256: many sites serve byte-identical
  robots.txt (CMS and hosting defaults), and they share one copy;
- the bytes are kept zlib-packed when that saves at least a quarter;
- a file is read (parsed) when a decision needs it, and the last readings made are kept
  ready (until a thousand others have been made since). Reading the same bytes with the same
  reader and limit always gives the same document, so a decision never depends on whether
  the reading was kept.

The audit evidence store on disk keeps the original bytes; nothing here is evidence.
"""

from __future__ import annotations

import hashlib
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

Doc = TypeVar("Doc")

# Readings kept ready per store: enough for the origins a broad crawl has in flight at once.
# Bounded by count and by the bytes read, since a 500 KiB robots.txt parses into megabytes.
KEEP_READINGS = 1024
KEEP_READ_BYTES = 4 * 1024 * 1024
_MIN_PACK = 128  # smaller files do not shrink enough to pay for unpacking


@dataclass(frozen=True, slots=True)
class Read(Generic[Doc]):
    """A 2xx body, read: the document and what the reading had to give up on."""

    doc: Doc
    truncated: bool = False
    invalid_utf8: bool = False


class Content(Generic[Doc]):
    """One distinct file content (2xx body), shared by every origin that served it."""

    __slots__ = (
        "_library",
        "_packed",
        "_zipped",
        "digest",
        "invalid_utf8",
        "reading",
        "refs",
        "truncated",
    )

    def __init__(
        self, library: Library[Doc], digest: bytes, body: bytes, truncated: bool, invalid: bool
    ) -> None:
        self._library = library
        self.digest = digest
        packed = zlib.compress(body) if len(body) >= _MIN_PACK else body
        # Zipped only when it pays; an empty body (a common empty robots.txt) never is.
        self._zipped = packed is not body and len(packed) * 4 <= len(body) * 3
        self._packed = packed if self._zipped else body
        self.truncated = truncated
        self.invalid_utf8 = invalid
        self.refs = 0  # cache entries that keep it (see Library.retain)
        self.reading: Doc | None = None  # the file as read, while the library keeps it ready

    def raw(self) -> bytes:
        return zlib.decompress(self._packed) if self._zipped else self._packed

    def doc(self) -> Doc:
        reading = self.reading
        return reading if reading is not None else self._library.read_again(self)


class Library(Generic[Doc]):
    """The distinct contents one store holds, and the readings kept ready."""

    def __init__(
        self,
        read: Callable[[bytes, int], Read[Doc]],
        limit: int,
        *,
        keep: int = KEEP_READINGS,
        keep_bytes: int = KEEP_READ_BYTES,
    ) -> None:
        self.read = read
        self.limit = limit
        self.keep = keep
        self.keep_bytes = keep_bytes
        # A content is interned while a cache entry keeps it: counted by retain() and
        # release(), cheaper than weak references at a million origins.
        self._contents: dict[bytes, Content[Doc]] = {}
        # The last readings made, oldest first, with the size of the bytes read.
        self._readings: OrderedDict[Content[Doc], int] = OrderedDict()
        self._read_bytes = 0
        self.reads = 0  # bodies read (parsed), for the benchmarks

    def intern(self, body: bytes, digest: bytes) -> Content[Doc]:
        """The shared content for a 2xx body, read now if it is new (the decision that
        follows a fetch needs it at once)."""
        content = self._contents.get(digest)
        if content is None:
            done = self.read(body, self.limit)
            self.reads += 1
            content = Content(self, digest, body, done.truncated, done.invalid_utf8)
            self._contents[digest] = content
            self._keep(content, done.doc, len(body))
        return content

    def retain(self, content: Content[Doc]) -> None:
        content.refs += 1

    def release(self, content: Content[Doc]) -> None:
        content.refs -= 1
        if content.refs <= 0 and self._contents.get(content.digest) is content:
            del self._contents[content.digest]

    def read_again(self, content: Content[Doc]) -> Doc:
        body = content.raw()
        doc = self.read(body, self.limit).doc
        self.reads += 1
        self._keep(content, doc, len(body))
        return doc

    def _keep(self, content: Content[Doc], doc: Doc, size: int) -> None:
        content.reading = doc
        self._readings[content] = size
        self._read_bytes += size
        readings = self._readings
        # The reading just made always stays: its decision is about to use it.
        while len(readings) > 1 and (
            len(readings) > self.keep or self._read_bytes > self.keep_bytes
        ):
            dropped, dropped_size = readings.popitem(last=False)
            dropped.reading = None
            self._read_bytes -= dropped_size

    def __len__(self) -> int:
        return len(self._contents)


def digest_of(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()
