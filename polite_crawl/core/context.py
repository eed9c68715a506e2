"""RequestContext: everything the checks may know about a request before it is sent."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import SplitResult, urlsplit

# Re-exported: `from polite_crawl.core.context import Purpose` worked before the vocabulary had
# a module of its own, and user code may still do it. The package's own modules import them
# from core.purposes.
from polite_crawl.core.purposes import Kind, Purpose

if TYPE_CHECKING:
    from collections.abc import Callable

    from polite_crawl.policy.loader import LoadedPolicy

__all__ = ["Kind", "Origin", "Purpose", "RequestContext"]


_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}


class Origin(NamedTuple):
    """RFC 9309 scopes robots.txt to scheme + authority; so does every per-site cache here.
    (A named tuple: it keys every per-origin cache, and tuples hash and compare in C.)"""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        return cls.of_parts(urlsplit(url))

    @classmethod
    def of_parts(cls, parts: SplitResult) -> Origin:
        # A crawl asks about few origins many times: each (scheme, netloc) is read once.
        key = (parts.scheme, parts.netloc)
        origin = _ORIGINS.get(key)
        if origin is None:
            if len(_ORIGINS) >= _ORIGINS_LIMIT:
                _ORIGINS.clear()
            origin = _ORIGINS[key] = cls._read(parts)
        return origin

    @classmethod
    def _read(cls, parts: SplitResult) -> Origin:
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


_ORIGINS: dict[tuple[str, str], Origin] = {}
_ORIGINS_LIMIT = 100_000


# A named tuple, not a frozen dataclass, for the same reason as CheckResult: one per request.
class RequestContext(NamedTuple):
    url: str
    method: str
    origin: Origin
    path: str  # path and query, as robots.txt rules see them
    purposes: frozenset[Purpose]
    kind: Kind = Kind.PAGE
    via: str | None = None  # the page that yielded this request, when known
    platform: LoadedPolicy | None = None  # the policy that governs the host, if any
    user_agent: str | None = None  # the User-Agent header that will be sent
    host_header: str | None = None  # a Host header set on the request, if any
    signals: frozenset[str] = frozenset()  # opt-out directives inherited from a page
    signals_from: str | None = None  # that page

    @classmethod
    def build(
        cls,
        url: str,
        purposes: frozenset[Purpose],
        *,
        method: str = "GET",
        kind: Kind = Kind.PAGE,
        via: str | None = None,
        resolve: Callable[[str], LoadedPolicy | None] | None = None,
        user_agent: str | None = None,
        host_header: str | None = None,
        signals: frozenset[str] = frozenset(),
        signals_from: str | None = None,
    ) -> RequestContext:
        parts = urlsplit(url)
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        origin = Origin.of_parts(parts)
        platform = resolve(origin.host) if resolve is not None and origin.host else None
        return cls(
            url,
            method.upper(),
            origin,
            path,
            purposes,
            kind,
            via,
            platform,
            user_agent,
            host_header,
            signals,
            signals_from,
        )
