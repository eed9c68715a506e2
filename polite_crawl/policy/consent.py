"""Consent grants (POLITE_CRAWL_CONSENTS): a platform's written permission, as data.

A grant applies to a request only when it names the request's platform, covers every purpose
the request needs consent for, includes the URL in its scope (if it has one) and is valid at
the time of the request. The decision evidence names the grant used.
"""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from polite_crawl.core.purposes import Purpose
from polite_crawl.robots.rules import path_variants

if TYPE_CHECKING:
    from collections.abc import Iterable

_SHA256 = re.compile(r"[0-9a-f]{64}")


class Grant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Your own name for the grant; it appears in audit records.")
    platform: str = Field(description="Policy id (or alias) of the platform that granted it.")
    purposes: list[Purpose] = Field(min_length=1)
    scope: list[str] = Field(
        default_factory=list, description="URL prefixes the grant covers; empty: the platform."
    )
    granted_by: str = Field(description="Who at the platform granted it.")
    evidence_url: str = Field(description="Where the signed document is kept.")
    evidence_sha256: str = Field(description="sha256 of that document, hex.")
    valid_from: datetime.date
    valid_until: datetime.date

    @field_validator("evidence_sha256")
    @classmethod
    def _sha(cls, value: str) -> str:
        if not _SHA256.fullmatch(value):
            raise ValueError("must be 64 lower-case hex digits")
        return value

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: list[str]) -> list[str]:
        for prefix in value:
            if not prefix.startswith(("https://", "http://")):
                raise ValueError(f"{prefix!r}: a scope entry is an http(s) URL prefix")
        return value

    @model_validator(mode="after")
    def _dates(self) -> Grant:
        if self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self

    def in_force(self, today: datetime.date) -> bool:
        return self.valid_from <= today <= self.valid_until

    def covers(self, url: str) -> bool:
        return not self.scope or any(_within(url, prefix) for prefix in self.scope)


def _within(url: str, prefix: str) -> bool:
    """url lies inside the scope prefix: same scheme, host and port, and its path (resolved as a
    server would) equals the prefix path or continues it after a '/'."""
    target, scope = urlsplit(url), urlsplit(prefix)
    if (target.scheme.lower(), target.hostname, _port(target)) != (
        scope.scheme.lower(),
        scope.hostname,
        _port(scope),
    ):
        return False
    paths = path_variants(target.path or "/")
    base = scope.path or "/"
    return all(
        p == base or p.startswith(base if base.endswith("/") else base + "/") for p in paths
    )


def _port(parts: SplitResult) -> int | None:
    try:
        return parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return -1


class ConsentFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    grant: list[Grant] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> ConsentFile:
        ids = [g.id for g in self.grant]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"grant ids must be unique: {', '.join(dupes)}")
        return self


def find_grant(
    grants: Iterable[Grant],
    platform: str,
    purposes: Iterable[Purpose],
    url: str,
    today: datetime.date,
) -> tuple[Grant | None, str]:
    """The first grant that applies, or None with the reason the nearest one did not."""
    needed = set(purposes)
    why = "no grant for this platform"
    for grant in grants:
        if grant.platform != platform:
            continue
        if not grant.in_force(today):
            why = f"grant {grant.id!r} is not in force on {today.isoformat()}"
        elif not grant.covers(url):
            why = f"grant {grant.id!r} does not cover this URL"
        elif not needed <= set(grant.purposes):
            missing = ", ".join(sorted(p.value for p in needed - set(grant.purposes)))
            why = f"grant {grant.id!r} does not cover the purpose {missing}"
        else:
            return grant, "applies"
    return None, why
