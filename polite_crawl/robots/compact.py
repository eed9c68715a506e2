"""How the per-origin caches keep origin-level files small enough for a million origins.

A cached file costs what its bytes cost, not what its parsed form costs (a parsed robots.txt
is several times larger than the text):

- each distinct content is kept once, interned by sha256: many sites serve byte-identical
  robots.txt (CMS and hosting defaults), and they share one copy;
- the bytes are kept zlib-packed when that saves at least a quarter;
- a file is read (parsed) when a decision needs it, and the readings of the most recently
  used files are kept ready. Reading the same bytes with the same reader and limit always gives
  the same document, so a decision never depends on whether the reading was kept.

The audit evidence store on disk keeps the original bytes; nothing here is evidence.
"""

from __future__ import annotations

import hashlib
import weakref
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
        "__weakref__",
        "_library",
        "_packed",
        "_zipped",
        "digest",
        "invalid_utf8",
        "truncated",
    )

    def __init__(
        self, library: Library[Doc], digest: bytes, body: bytes, truncated: bool, invalid: bool
    ) -> None:
        self._library = library
        self.digest = digest
        packed = zlib.compress(body) if len(body) >= _MIN_PACK else body
        self._zipped = len(packed) * 4 <= len(body) * 3
        self._packed = packed if self._zipped else body
        self.truncated = truncated
        self.invalid_utf8 = invalid

    def raw(self) -> bytes:
        return zlib.decompress(self._packed) if self._zipped else self._packed

    def doc(self) -> Doc:
        return self._library.doc(self)


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
        # A content lives as long as an entry refers to it; evicting the last one frees it.
        self._contents: weakref.WeakValueDictionary[bytes, Content[Doc]] = (
            weakref.WeakValueDictionary()
        )
        self._readings: OrderedDict[bytes, tuple[Doc, int]] = OrderedDict()
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
            self._remember(digest, done.doc, len(body))
        return content

    def doc(self, content: Content[Doc]) -> Doc:
        kept = self._readings.get(content.digest)
        if kept is not None:
            self._readings.move_to_end(content.digest)
            return kept[0]
        body = content.raw()
        doc = self.read(body, self.limit).doc
        self.reads += 1
        self._remember(content.digest, doc, len(body))
        return doc

    def _remember(self, digest: bytes, doc: Doc, size: int) -> None:
        old = self._readings.pop(digest, None)
        if old is not None:
            self._read_bytes -= old[1]
        self._readings[digest] = (doc, size)
        self._read_bytes += size
        while self._readings and (
            len(self._readings) > self.keep or self._read_bytes > self.keep_bytes
        ):
            if len(self._readings) == 1:
                break  # the reading just made is always kept: its decision is about to use it
            _, (_, dropped) = self._readings.popitem(last=False)
            self._read_bytes -= dropped

    def __len__(self) -> int:
        return len(self._contents)


def digest_of(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()
