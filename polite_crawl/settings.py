"""The POLITE_CRAWL_* settings as one pydantic model: defaults, docs and validation in one place.

docs/settings.md is generated from this model (`make settings-doc`), and a test keeps the two
identical.
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from polite_crawl.audit.redact import DEFAULT_REDACT_PARAMS
from polite_crawl.core.context import Purpose
from polite_crawl.robots.parser import DEFAULT_PARSE_LIMIT, RFC_MIN_PARSE_LIMIT
from polite_crawl.robots.state import DEFAULT_MAX_ORIGINS, MAX_TTL
from polite_crawl.signals.meta import DEFAULT_HEAD_LIMIT

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


logger = logging.getLogger(__name__)

PREFIX = "POLITE_CRAWL_"
_TOKEN = re.compile(r"[A-Za-z_-]+")


class SettingsError(ValueError):
    """A POLITE_CRAWL_* setting (or the user agent) is unusable; the crawl must not start."""


class PoliteSettings(BaseModel):
    """Every field is the setting POLITE_CRAWL_<FIELD NAME IN UPPER CASE>."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Turn the whole add-on off with False.")
    mode: Literal["enforce", "report"] = Field(
        "enforce",
        description='"enforce" refuses what the checks deny. "report" lets it through but '
        "records and counts it as a would-be denial (stats `polite_crawl/report_only/...`).",
    )
    purposes: list[Purpose] = Field(
        min_length=1,
        description="Required. What the crawl is for; one or more of the purpose vocabulary. "
        "A spider may narrow it with a `polite_crawl_purposes` attribute, never widen it.",
    )
    contact: str | None = Field(
        None, description="An http(s) URL or mailto: address where site owners reach you."
    )
    audit_dir: Path = Field(
        Path("polite_crawl_audit"),
        description="Directory of the decision log; created if missing, must be writable.",
    )
    audit_durability: Literal["fsync", "none"] = Field(
        "fsync",
        description='"fsync": no allowed request is sent before its audit record is on disk '
        '(group commit: one fdatasync per reactor turn). "none": records are written before '
        "the request but not synced (faster; a power loss can lose the last ones).",
    )
    audit_checkpoint_every: int = Field(
        1024, ge=1, description="Sign a checkpoint of a platform's log every this many records."
    )
    audit_checkpoint_seconds: float = Field(
        60.0, gt=0, description="... or when this many seconds passed since its last one."
    )
    audit_redact_params: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REDACT_PARAMS),
        description="Query parameters whose values never reach the log (replaced by "
        "REDACTED); user:password in URLs is always removed.",
    )
    consents: Path | None = Field(None, description="A TOML file of consent grants.")
    policy_dirs: list[Path] = Field(
        default_factory=list,
        description="Extra policy directories; their files override bundled policies by id.",
    )
    user_agent_token: str | None = Field(
        None,
        description="The robots.txt product token (letters, `_`, `-`). Default: the first "
        "product of USER_AGENT. USER_AGENT must contain it.",
    )
    policy_max_age_days: int = Field(
        180,
        ge=1,
        description="A policy file whose `reviewed` date is older than this many days is "
        "reported with a warning at start-up: platform terms change.",
    )
    robots_parse_limit: int = Field(
        DEFAULT_PARSE_LIMIT,
        ge=RFC_MIN_PARSE_LIMIT,
        description="Bytes of robots.txt parsed; the rest is ignored, never read as allow-all. "
        "RFC 9309 requires at least 500 KiB (512000).",
    )
    head_scan_limit: int = Field(
        DEFAULT_HEAD_LIMIT,
        ge=64 * 1024,
        description="Bytes of an HTML page read for its robots and tdm-reservation meta tags. "
        "A longer page whose `<head>` does not end within them has unknown signals: its images "
        "are refused and its items dropped for every purpose a page signal can refuse "
        "(`optout.unreadable_head`; not `archiving`).",
    )
    robots_cache_ttl: float = Field(
        MAX_TTL,
        ge=1,
        le=MAX_TTL,
        description="Seconds a robots.txt copy is used before it is fetched again (at most "
        "86400, RFC 9309 §2.4; a shorter Cache-Control max-age wins).",
    )

    robots_error_backoff: float = Field(
        60.0,
        gt=0,
        description="Seconds before an unreachable robots.txt (5xx, 429, network error) is "
        "fetched again; doubled after each failure, up to one hour. The origin stays "
        "disallowed meanwhile, unless an earlier good copy exists.",
    )
    robots_max_crawl_delay: float = Field(
        60.0,
        ge=0,
        description="Upper bound in seconds on the Crawl-delay honoured per origin. A larger "
        "Crawl-delay is capped; the audit evidence records both values.",
    )
    origin_cache_size: int = Field(
        DEFAULT_MAX_ORIGINS,
        ge=1,
        description="Origins whose robots.txt (and tdmrep.json, ai.txt) are kept in memory, "
        "per file. Beyond it the least recently used origin is forgotten: its next request "
        "waits for a fresh fetch (or the POLITE_CRAWL_ROBOTS_CACHE_PATH copy), it is never "
        "allowed unchecked. About 0.7 KiB per origin (docs/benchmarks.md).",
    )
    robots_cache_path: Path | None = Field(
        None,
        description="An SQLite file that keeps robots.txt copies across runs (at most "
        "POLITE_CRAWL_ROBOTS_CACHE_TTL old), so a restarted crawl does not fetch them again.",
    )

    @field_validator("purposes", "policy_dirs", "audit_redact_params", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        # Scrapy's getlist convention: `-s POLITE_CRAWL_PURPOSES=research,archiving`.
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("purposes")
    @classmethod
    def _unique(cls, value: list[Purpose]) -> list[Purpose]:
        return list(dict.fromkeys(value))

    @field_validator("contact")
    @classmethod
    def _contact(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://", "mailto:")):
            raise ValueError("must be an http(s):// URL or a mailto: address")
        return value

    @field_validator("user_agent_token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        if value is not None and not _TOKEN.fullmatch(value):
            raise ValueError("a product token has only letters, '_' and '-' (RFC 9309 §2.2.1)")
        return value

    @field_validator("consents")
    @classmethod
    def _readable_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("no such file")
        return value

    @field_validator("policy_dirs")
    @classmethod
    def _dirs(cls, value: list[Path]) -> list[Path]:
        missing = [str(p) for p in value if not p.is_dir()]
        if missing:
            raise ValueError(f"not a directory: {', '.join(missing)}")
        return value


def setting_name(field: str) -> str:
    return PREFIX + field.upper()


def from_mapping(values: Mapping[str, Any]) -> PoliteSettings:
    """Validate the POLITE_CRAWL_* entries of a settings mapping; raise one SettingsError."""
    given = {k: v for k, v in values.items() if k.startswith(PREFIX)}
    known = {setting_name(f): f for f in PoliteSettings.model_fields}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise SettingsError(
            f"unknown setting {', '.join(unknown)}. Valid settings: {', '.join(sorted(known))}"
        )
    data = {known[k]: v for k, v in given.items() if v is not None}
    try:
        model = PoliteSettings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(_explain(exc, data)) from None
    _check_audit_dir(model.audit_dir)
    return model


def _explain(exc: ValidationError, data: Mapping[str, Any]) -> str:
    lines = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "?"
        name = setting_name(field)
        if err["type"] == "missing":
            lines.append(f"{name} is required. {_choices(field)}")
            continue
        if err["type"] in ("enum", "literal_error"):
            problem = f"{err['input']!r} is not a valid choice"
        else:
            problem = str(err["msg"])
        lines.append(f"{name} = {data.get(field)!r}: {problem}. {_choices(field)}".rstrip())
    return "invalid polite_crawl settings:\n  " + "\n  ".join(lines)


def _choices(field: str) -> str:
    if field == "purposes":
        return "Valid choices: " + ", ".join(p.value for p in Purpose) + "."
    if field == "mode":
        return "Valid choices: enforce, report."
    return ""


def _check_audit_dir(path: Path) -> None:
    name = setting_name("audit_dir")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SettingsError(
            f"{name} = {str(path)!r}: the audit directory is not writable ({reason}). "
            "Choose a directory the crawler can create and write to."
        ) from None


def product_token(settings: PoliteSettings, user_agent: str) -> str:
    """The robots.txt product token, and a check that the User-Agent really carries it."""
    token = settings.user_agent_token
    if token is None:
        first = user_agent.strip().split("/", 1)[0].split(" ", 1)[0]
        if not _TOKEN.fullmatch(first) or first.lower() == "mozilla":
            raise SettingsError(
                f"cannot derive a robots.txt product token from USER_AGENT = {user_agent!r}. "
                f"Set {setting_name('user_agent_token')} to your crawler's token, and make "
                "USER_AGENT name it (e.g. 'examplebot/1.0 (+https://example.org/bot)')."
            )
        token = first
    if token.lower() not in user_agent.lower():
        raise SettingsError(
            f"USER_AGENT = {user_agent!r} does not contain the product token {token!r} "
            f"({setting_name('user_agent_token')}). Sites match robots.txt groups by this token, "
            "so the User-Agent you send must name it."
        )
    return token


def narrow(declared: Iterable[Purpose], spider_purposes: Any) -> frozenset[Purpose]:
    """A spider may narrow the declared purposes (attribute polite_crawl_purposes), not widen."""
    allowed = frozenset(declared)
    if spider_purposes is None:
        return allowed
    raw = spider_purposes.split(",") if isinstance(spider_purposes, str) else spider_purposes
    try:
        wanted = frozenset(Purpose(str(p).strip()) for p in raw)
    except ValueError as exc:
        raise SettingsError(f"spider attribute polite_crawl_purposes: {exc}") from None
    extra = wanted - allowed
    if extra:
        raise SettingsError(
            "spider attribute polite_crawl_purposes may only narrow POLITE_CRAWL_PURPOSES; "
            f"not declared: {', '.join(sorted(p.value for p in extra))}"
        )
    return wanted or allowed


def reference_markdown() -> str:
    """docs/settings.md, generated from the model."""
    out = [
        "# Settings reference",
        "",
        "Generated from `polite_crawl/settings.py` by `make settings-doc`; a test keeps this",
        "page and the model identical. List settings take a Python list in",
        "settings.py or a comma-separated string on the command line",
        "(`-s POLITE_CRAWL_PURPOSES=research,archiving`). An unknown `POLITE_CRAWL_*` name or a",
        "bad value stops the crawl before its first request, with one message naming the setting.",
        "",
    ]
    for field, info in PoliteSettings.model_fields.items():
        default = (
            "required"
            if info.is_required()
            else f"`{_show(info.get_default(call_default_factory=True))}`"
        )
        out += [
            f"## `{setting_name(field)}`",
            "",
            f"Default: {default}",
            "",
            str(info.description),
            "",
        ]
    out += ["## Purpose vocabulary", ""]
    out += [f"- `{p.value}`" for p in Purpose]
    return "\n".join(out) + "\n"


def _show(value: Any) -> str:
    if isinstance(value, Path):
        return str(value)
    return repr(value)
