"""RequestContext: everything the checks may know about a request before it is sent."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit


class Purpose(str, Enum):
    """Declared purposes (contract vocabulary, see docs/purposes.md)."""

    SEARCH_INDEXING = "search-indexing"
    ARCHIVING = "archiving"
    RESEARCH = "research"
    AI_TRAINING = "ai-training"
    AI_INPUT = "ai-input"
    FACIAL_RECOGNITION = "facial-recognition"
    COMMERCIAL_DATA_COLLECTION = "commercial-data-collection"
    MONITORING = "monitoring"


class Kind(str, Enum):
    PAGE = "page"
    IMAGE = "image"
    FILE = "file"


_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}


@dataclass(frozen=True, slots=True)
class Origin:
    """RFC 9309 scopes robots.txt to scheme + authority; so does every per-site cache here."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        try:
            port = parts.port
        except ValueError:
            port = None
        return cls(scheme, host, port if port is not None else _DEFAULT_PORTS.get(scheme, 0))

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if _DEFAULT_PORTS.get(self.scheme) == self.port:
            return f"{self.scheme}://{host}"
        return f"{self.scheme}://{host}:{self.port}"

    def url(self, path: str) -> str:
        return f"{self}{path}"


@dataclass(frozen=True, slots=True)
class RequestContext:
    url: str
    method: str
    origin: Origin
    purposes: frozenset[Purpose]
    kind: Kind = Kind.PAGE
    via: str | None = None  # the page that yielded this request, when known

    @classmethod
    def build(
        cls,
        url: str,
        purposes: frozenset[Purpose],
        *,
        method: str = "GET",
        kind: Kind = Kind.PAGE,
        via: str | None = None,
    ) -> RequestContext:
        return cls(url, method.upper(), Origin.of(url), purposes, kind, via)
