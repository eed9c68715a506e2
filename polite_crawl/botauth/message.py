"""The adapter between polite_crawl and http-message-signatures' message interface.

The library builds every signature base itself (RFC 9421) from an object with `method`, `url`
(an encoded absolute URL) and `headers`, or, for a response, `status_code`, `headers` and the
`request` it answers; `headers.items()` must give every field line in order, as strings. Scrapy
keeps header values as bytes and the signer has no Scrapy request anyway, so these small
classes carry just that: nothing here reads a body or touches the network.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

HeaderLines = Mapping[str, str] | Iterable[tuple[str, str]]


class Headers:
    """Field lines, in order, as (name, value) strings; names compare case-insensitively."""

    __slots__ = ("_lines",)

    def __init__(self, lines: HeaderLines = ()) -> None:
        pairs = lines.items() if isinstance(lines, Mapping) else lines
        self._lines: list[tuple[str, str]] = [(str(n), str(v)) for n, v in pairs]

    @classmethod
    def from_raw(cls, lines: Iterable[tuple[bytes, bytes]]) -> Headers:
        """From byte pairs (as a server or Scrapy holds them): names ASCII, values Latin-1,
        which keeps every byte as the library expects."""
        return cls((n.decode("ascii"), v.decode("latin-1")) for n, v in lines)

    def items(self) -> list[tuple[str, str]]:
        return list(self._lines)

    def get(self, name: str) -> str | None:
        """All the field lines of `name`, combined with ", " (RFC 9110 Section 5.3)."""
        values = [v for n, v in self._lines if n.lower() == name.lower()]
        return ", ".join(values) if values else None

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(n for n, _ in self._lines))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(n.lower() == name.lower() for n, _ in self._lines)

    def __setitem__(self, name: str, value: str) -> None:
        del self[name]
        self._lines.append((name, value))

    def __delitem__(self, name: str) -> None:
        self._lines = [(n, v) for n, v in self._lines if n.lower() != name.lower()]


@dataclass(slots=True)
class Request:
    method: str
    url: str
    headers: Headers = field(default_factory=Headers)


@dataclass(slots=True)
class Response:
    status_code: int
    headers: Headers
    request: Request
