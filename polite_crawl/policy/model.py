"""The shape of a policy file (one TOML file per platform, see docs/policies.md).

Stances, from least to most restrictive:
- `allowed`: the platform's terms permit automated access for this purpose;
- `consent-required`: forbidden unless you hold the platform's written consent (a grant in
  POLITE_CRAWL_CONSENTS covering this platform and purpose);
- `prohibited`: forbidden outright; no grant opens it (e.g. facial recognition on X, whose
  terms forbid it for everyone, or on GitHub, whose users, not GitHub, authorise what their
  personal information is used for).
"""

from __future__ import annotations

import datetime
import re
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from polite_crawl.core.purposes import Purpose

_ID = re.compile(r"[a-z][a-z0-9-]*")
_HOST = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]")
MAX_QUOTE_WORDS = 25


class Stance(str, Enum):
    ALLOWED = "allowed"
    CONSENT_REQUIRED = "consent-required"
    PROHIBITED = "prohibited"


class Grade(str, Enum):
    """How a fact was checked: against a stored copy of the platform's own text, a secondary
    source (news, a third party quoting the text), or not at all."""

    VERIFIED = "verified"
    SECONDARY = "secondary"
    UNVERIFIED = "unverified"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    id: str = Field(description="Short id the clauses refer to, e.g. `tos`.")
    title: str
    url: str = Field(description="Where the text is published.")
    date: datetime.date = Field(description="Date of the text relied on (effective or recorded).")
    grade: Grade
    quote: str | None = Field(None, description="The clause, at most 25 words.")
    no_quote: str | None = Field(
        None,
        description="Why there is no quote (the text was not read, or nothing in it says so); "
        "a source without a quote says so here.",
    )
    section: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("quote")
    @classmethod
    def _short(cls, value: str | None) -> str | None:
        if value is not None and len(value.split()) > MAX_QUOTE_WORDS:
            raise ValueError(f"a quote has at most {MAX_QUOTE_WORDS} words")
        return value

    @model_validator(mode="after")
    def _quoted(self) -> Source:
        # Either the sentence itself or why there is none: a reader must not take one for the
        # other. (The shipped files must have one of the two; tests/test_policies_data.py.)
        if self.quote is not None and self.no_quote is not None:
            raise ValueError("a source has a quote or a no_quote, not both")
        return self


class Rule(_Strict):
    """The stance for automated access, overall or for one purpose, and what it rests on."""

    stance: Stance
    source: str = Field(description="Id of the source in `sources` this rests on.")
    clause: str = Field(description="What the source says, in a sentence.")
    grade: Grade | None = Field(None, description="Overrides the source's grade for this fact.")
    contact_required: bool = Field(
        False, description="Allowed only with POLITE_CRAWL_CONTACT set and named in USER_AGENT."
    )
    min_delay: float = Field(0.0, ge=0, description="Seconds between requests to one host.")


class Policy(_Strict):
    id: str
    name: str
    aliases: list[str] = Field(default_factory=list)
    reviewed: datetime.date = Field(description="When a person last checked this file.")
    domains: list[str] = Field(
        default_factory=list,
        description="Registrable domains claimed whole, with every subdomain (CDNs and "
        "short-link hosts included).",
    )
    hosts: list[str] = Field(
        default_factory=list,
        description="Single hosts claimed on a shared domain (e.g. one wixmp.com subdomain).",
    )
    sources: list[Source] = Field(min_length=1)
    access: Rule = Field(description="The default stance for automated access.")
    purposes: dict[Purpose, Rule] = Field(
        default_factory=dict, description="Per-purpose overrides of `access`."
    )
    sanctioned_route: str | None = Field(None, description="The platform's own way in (an API).")
    notes: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.fullmatch(value):
            raise ValueError("lower-case letters, digits and '-', starting with a letter")
        return value

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: list[str]) -> list[str]:
        for alias in value:
            cls._id(alias)
        return value

    @field_validator("domains", "hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        for host in value:
            if host != host.lower() or not _HOST.fullmatch(host):
                raise ValueError(f"{host!r} is not a lower-case host name")
        if len(set(value)) != len(value):
            raise ValueError(
                "listed twice: " + ", ".join(sorted({h for h in value if value.count(h) > 1}))
            )
        return value

    @model_validator(mode="after")
    def _references(self) -> Policy:
        if not self.domains and not self.hosts:
            raise ValueError("a policy must claim at least one domain or host")
        ids = [s.id for s in self.sources]
        if len(set(ids)) != len(ids):
            raise ValueError("source ids must be unique")
        for name, rule in [
            ("access", self.access),
            *((f"purposes.{p.value}", r) for p, r in self.purposes.items()),
        ]:
            if rule.source not in ids:
                raise ValueError(
                    f"{name}.source = {rule.source!r} names no source (sources: {', '.join(ids)})"
                )
        return self

    def rule_for(self, purpose: Purpose) -> Rule:
        return self.purposes.get(purpose, self.access)

    def source(self, source_id: str) -> Source:
        return next(s for s in self.sources if s.id == source_id)
