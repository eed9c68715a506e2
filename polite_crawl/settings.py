"""The POLITE_CRAWL_* settings as one pydantic model: defaults, docs and validation in one place.

docs/settings.md is generated from this model (`make settings-doc`), and a test keeps the two
identical.
"""

from __future__ import annotations

import difflib
import ipaddress
import logging
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from polite_crawl.audit.redact import DEFAULT_REDACT_PARAMS
from polite_crawl.audit.worker import WORKER_NAME
from polite_crawl.botauth.agent import signature_agent_origin
from polite_crawl.core.purposes import Purpose
from polite_crawl.origin.store import DEFAULT_MAX_ORIGINS, MAX_TTL
from polite_crawl.robots.parser import DEFAULT_PARSE_LIMIT, RFC_MIN_PARSE_LIMIT
from polite_crawl.signals.meta import DEFAULT_HEAD_LIMIT

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping


logger = logging.getLogger(__name__)

PREFIX = "POLITE_CRAWL_"
_TOKEN = re.compile(r"[A-Za-z_-]+")


def refused_start(log: logging.Logger, message: str) -> SettingsError:
    """The one ERROR line a refused start prints (on the caller's logger), and the error to
    raise: `raise refused_start(logger, message)`."""
    log.error("polite_crawl: the crawl cannot start: %(error)s", {"error": message})
    return SettingsError(message)


class SettingsError(ValueError):
    """A POLITE_CRAWL_* setting (or the user agent) is unusable; the crawl must not start.

    problems: one line per setting at fault (logged as one ERROR line each)."""

    def __init__(self, message: str, problems: Iterable[str] | None = None) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems) if problems else (message,)


class PoliteSettings(BaseModel):
    """Every field is the setting POLITE_CRAWL_<FIELD NAME IN UPPER CASE>."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        True,
        description="Turn the whole add-on off with False, in the project's settings or with "
        "`-s`. A spider's `custom_settings` cannot turn off what the project turned on, nor "
        "weaken the other settings marked so below (docs/security.md): the crawl refuses to "
        "start.",
    )
    mode: Literal["enforce", "report"] = Field(
        "enforce",
        description='"enforce" refuses what the checks deny. "report" lets it through but '
        "records and counts it as a would-be denial (stats `polite_crawl/report_only/...`); "
        "internal addresses (`request.internal_address`) are refused in both modes. A spider "
        "may not lower it.",
    )
    purposes: list[Purpose] = Field(
        min_length=1,
        description="Required. What the crawl is for; one or more of the purpose vocabulary. "
        "A spider may narrow it (a `polite_crawl_purposes` attribute or its own "
        "`custom_settings`), never widen or change it.",
    )
    contact: str | None = Field(
        None, description="An http(s) URL or mailto: address where site owners reach you."
    )
    audit_dir: Path = Field(
        Path("polite_crawl_audit"),
        validate_default=True,  # the default is relative too: resolved like a given value
        description="Directory of the decision log; created if missing, must be writable. "
        "A relative path is resolved against the Scrapy project root (the folder of the "
        "nearest `scrapy.cfg`, as Scrapy finds it; the working directory outside a project), "
        "like every path setting, so a crawl run from a sub-folder uses the same directory "
        "and key; the absolute path is logged at start. Keep its `signing.key` out of version "
        "control.",
    )
    audit_key_create: bool = Field(
        True,
        description="Create the log-signing key (`signing.key` in the audit directory) when "
        "there is none; a new key is logged as a WARNING naming its fingerprint and path, "
        "since platforms pin the key. Set False in production: a missing key (a wrong "
        "directory, a lost volume) then stops the crawl at start-up instead of silently "
        "starting a new identity. A spider may not turn it on where the project turned it "
        "off.",
    )
    audit_key: Path | None = Field(
        None,
        description="The log-signing key file, when it is kept outside the audit directory: "
        "a fleet's workers each have their own audit directory and share this one key "
        "(docs/fleet.md). Make it once with `polite-crawl audit keygen PATH`; it is never "
        "created by a crawl. Each directory then names the key's path in `signing.key.path` "
        "(for `audit seal` and `audit export`), and every log's origin carries the worker's "
        "name (POLITE_CRAWL_WORKER_ID, else the audit directory's name), so that no two logs "
        "the key signs share an origin. A spider may not name another.",
    )
    audit_durability: Literal["fsync", "none"] = Field(
        "fsync",
        description='"fsync": no allowed request is sent before its audit record is on disk '
        '(group commit: one fdatasync per reactor turn). "none": records are written before '
        "the request but not synced (faster; a power loss can lose the last ones). A spider "
        "may not lower it.",
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
        "REDACTED); user:password in URLs is always removed. A spider may add to them, not "
        "drop any.",
    )
    consents: Path | None = Field(
        None,
        description="A TOML file of consent grants (relative: to the project root). An empty "
        "value (`-s POLITE_CRAWL_CONSENTS=`) unsets it. A spider may not name another.",
    )
    allow_internal_networks: list[str] = Field(
        default_factory=list,
        description="Networks (CIDR, e.g. `10.20.0.0/16`, or single addresses) an intranet "
        "crawl may reach. By default every internal address is refused "
        "(`request.internal_address`): loopback, private, link-local (cloud metadata), CGNAT, "
        "multicast, reserved, documentation and unique-local ranges, in any spelling of the "
        "address, and names whose DNS answer is one when Scrapy resolves names itself (not "
        "through a proxy). Open only what the crawl needs; `0.0.0.0/0` and `::/0` open all. "
        "Requests let through are recorded with the network that allowed them. A spider may "
        "not open more than the project did.",
    )
    policy_dirs: list[Path] = Field(
        default_factory=list,
        description="Extra policy directories (relative: to the project root); their files "
        "override bundled policies by id. A spider may not change them.",
    )
    user_agent_token: str | None = Field(
        None,
        description="The robots.txt product token (letters, `_`, `-`). Default: the first "
        "product of USER_AGENT. USER_AGENT must contain it. Where the project's settings name "
        "the token (this or USER_AGENT), a spider's user agent may not change it.",
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
        "RFC 9309 requires at least 500 KiB (512000). A spider may not lower it.",
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
        "86400, RFC 9309 §2.4; a shorter Cache-Control max-age wins). A spider may not "
        "raise it.",
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
        "Crawl-delay is capped; the audit evidence records both values. A spider may not lower "
        "it.",
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
        "POLITE_CRAWL_ROBOTS_CACHE_TTL old), so a restarted crawl does not fetch them again. "
        "A spider may not name another.",
    )

    web_bot_auth: bool = Field(
        False,
        description="Sign every request the crawl sends (Web Bot Auth, docs/bot-auth.md): pages "
        "the gate lets go and the robots.txt, tdmrep.json and ai.txt preflights. The key is "
        "`bot-auth.key` in the audit directory, created on first use; its keyid is in each "
        "log's `run.start` and each signature's parameters (never the signature) in the "
        "record written before the request is sent. A key file that cannot be used stops the "
        "crawl at start-up.",
    )
    bot_auth_key: Path | None = Field(
        None,
        description="The Web Bot Auth key file, when not `bot-auth.key` in the audit "
        "directory: to rotate keys, make the new one (`polite-crawl bot-auth directory "
        "--key OLD --key NEW --create` lists both), publish, then name it here. Never "
        "created unless it is the default. A spider may not name another.",
    )
    signature_agent: str | None = Field(
        None,
        description="The https URL where you serve your key directory (`polite-crawl bot-auth "
        "directory` writes it): its origin (e.g. `https://crawler.example.org`) or its full URL "
        "there, `https://crawler.example.org/.well-known/http-message-signatures-directory`; "
        "no other path, since verifiers look only there. The origin is sent in "
        "`Signature-Agent` and covered by each signature when POLITE_CRAWL_WEB_BOT_AUTH is on.",
    )
    signature_ttl: float = Field(
        60.0,
        ge=10,
        le=86400,
        description="Seconds a request signature is valid (`expires - created`). Short: an "
        "unexpired signature can be replayed. A request that waits longer at the wire (a "
        "Crawl-delay queue) is signed with new parameters, recorded before it is sent.",
    )

    redis_url: str | None = Field(
        None,
        description="Fleet mode (docs/fleet.md): the Redis server the workers share, e.g. "
        "`redis://127.0.0.1:6379/0` (`redis://`, `rediss://` or `unix://`). Each origin's "
        "robots.txt, tdmrep.json and ai.txt is then fetched once for the whole fleet. Needs "
        "the `redis` package (`pip install polite-crawl[fleet]`) and the asyncio reactor. A "
        "spider may not change it.",
    )
    redis_prefix: str = Field(
        "polite_crawl",
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="The prefix of every Redis key polite_crawl writes (fleet mode): fleets "
        "sharing one Redis keep apart by it.",
    )
    redis_cluster: bool = Field(
        False,
        description="POLITE_CRAWL_REDIS_URL names a node of a Redis Cluster: polite_crawl's "
        "fleet state is spread over its slots (every script touches one origin's or one "
        "host's keys, one slot). scrapy-redis's queue (REDIS_URL) needs a plain Redis of its "
        "own (docs/fleet.md).",
    )
    fleet_lease: float = Field(
        30.0,
        ge=1,
        le=3600,
        description="Seconds a worker may hold an origin while it fetches its robots.txt (or "
        "another origin file) for the fleet; a worker that dies holding it delays the origin "
        "by at most this long.",
    )
    fleet_wait: float = Field(
        90.0,
        ge=1,
        le=3600,
        description="Seconds a worker waits for another worker's fetch of an origin file "
        "before refusing the requests that need it (`fleet.unavailable`). At least the lease "
        "time, so that a dead holder's lease can run out and be taken over.",
    )
    fleet_park_after: float = Field(
        1.0,
        ge=0,
        le=3600,
        description="Seconds a paced request may wait at the wire for its host's turn in the "
        "fleet. When the turn is further away, the request goes back to the scheduler until "
        "then (decided again when it returns), so its download slot serves other hosts "
        "meanwhile: without it, a fleet crawling many paced hosts stalls (docs/fleet.md).",
    )
    fleet_host_rate: float | None = Field(
        None,
        gt=0,
        le=1000,
        description="Requests per second the whole fleet may send one host (every host, "
        "robots.txt included), on top of any Crawl-delay: evenly spaced on Redis's clock, one "
        "Redis round trip per request (docs/fleet.md). None: hosts without a Crawl-delay or "
        "`min_delay` cost no Redis command per request.",
    )
    fleet_on_failure: Literal["close", "pause"] = Field(
        "close",
        description="What the crawl does when the fleet's Redis fails (unreachable, too slow, "
        "an unusable reply). Either way the requests that needed it are refused and recorded "
        "(`fleet.unavailable`), never sent on this worker's own state. `close`: the crawl "
        "closes (reason `polite_crawl_fleet_unavailable`, exit status 1); with scrapy-redis "
        "and SCHEDULER_PERSIST the queue keeps the rest for the next run. `pause`: the engine "
        "stops taking requests from the scheduler and resumes once Redis answers again "
        "(asked every POLITE_CRAWL_REDIS_TIMEOUT seconds).",
    )
    redis_timeout: float = Field(
        5.0,
        gt=0,
        le=600,
        description="Seconds one Redis command may take in fleet mode; slower is a failure, "
        "and the request waiting on it is refused (`fleet.unavailable`).",
    )
    worker_id: str | None = Field(
        None,
        description="This worker's name: in a fleet's records and Redis leases, and, with "
        "POLITE_CRAWL_AUDIT_KEY, in its logs' origins (there the default is the audit "
        "directory's name; elsewhere host name and process id). Letters, digits, `.`, `_` "
        "and `-`, at most 64.",
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.partition("://")[0].lower()
        if scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"{value!r} is not a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("signature_agent")
    @classmethod
    def _agent(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return signature_agent_origin(value)  # a BotAuthError (ValueError) says what is wrong

    @field_validator(
        "purposes", "policy_dirs", "audit_redact_params", "allow_internal_networks", mode="before"
    )
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

    @field_validator("allow_internal_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        out = []
        for text in value:
            try:
                # strict: "10.0.0.1/8" is a typo for a host or for 10.0.0.0/8; say which.
                out.append(str(ipaddress.ip_network(text.strip(), strict=True)))
            except ValueError as exc:
                raise ValueError(f"{text!r} is not a network in CIDR notation ({exc})") from None
        return out

    @field_validator("user_agent_token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        if value is not None and not _TOKEN.fullmatch(value):
            raise ValueError("a product token has only letters, '_' and '-' (RFC 9309 §2.2.1)")
        return value

    @field_validator("worker_id")
    @classmethod
    def _worker(cls, value: str | None) -> str | None:
        # Part of signed notes' key names (log origins): no whitespace, "+" or "/".
        if value is not None and not WORKER_NAME.fullmatch(value):
            raise ValueError(
                "a worker name has 1 to 64 letters, digits, '.', '_' or '-' (it is part of "
                "the log origins)"
            )
        return value

    @field_validator("audit_dir", "robots_cache_path", "bot_auth_key", "audit_key")
    @classmethod
    def _resolved(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve(value, info)

    @field_validator("consents")
    @classmethod
    def _readable_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        path = _resolve(value, info)
        if not path.is_file():
            raise ValueError(f"no such file: {path}")
        return path

    @field_validator("policy_dirs")
    @classmethod
    def _dirs(cls, value: list[Path], info: ValidationInfo) -> list[Path]:
        paths = [_resolve(p, info) for p in value]
        missing = [str(p) for p in paths if not p.is_dir()]
        if missing:
            raise ValueError(f"not a directory: {', '.join(missing)}")
        return paths


def project_root() -> Path:
    """Where relative path settings resolve: the folder of the nearest scrapy.cfg, found as
    Scrapy finds it (from the working directory upwards), else the working directory."""
    from scrapy.utils.conf import closest_scrapy_cfg

    found = closest_scrapy_cfg()
    return Path(found).parent if found else Path.cwd()


def _resolve(path: Path, info: ValidationInfo) -> Path:
    path = path.expanduser()
    if path.is_absolute():
        return path
    base = (info.context or {}).get("base") if isinstance(info.context, dict) else None
    return (Path(base) if base is not None else project_root()) / path


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
    data = {known[k]: v for k, v in given.items() if not _unset(k, v)}
    try:
        model = PoliteSettings.model_validate(data, context={"base": project_root()})
    except ValidationError as exc:
        problems = _problems(exc, data)
        raise SettingsError(
            "invalid polite_crawl settings:\n  " + "\n  ".join(problems), problems
        ) from None
    _check_audit_dir(model.audit_dir, data.get("audit_dir"))
    if model.redis_url is not None and model.fleet_wait < model.fleet_lease:
        raise SettingsError(
            f"{setting_name('fleet_wait')} = {model.fleet_wait} is shorter than "
            f"{setting_name('fleet_lease')} = {model.fleet_lease}: a worker would refuse an "
            "origin whose fetching worker died before its lease could run out"
        )
    return model


def _unset(name: str, value: Any) -> bool:
    """None, or an empty string for a setting whose default is None (`-s
    POLITE_CRAWL_CONSENTS=` on the command line): the setting is not given."""
    if value is None:
        return True
    field = PoliteSettings.model_fields.get(name.removeprefix(PREFIX).lower())
    return (
        isinstance(value, str)
        and not value.strip()
        and field is not None
        and not field.is_required()
        and field.get_default() is None
    )


def _explain(exc: ValidationError, data: Mapping[str, Any]) -> str:
    return "invalid polite_crawl settings:\n  " + "\n  ".join(_problems(exc, data))


def _problems(exc: ValidationError, data: Mapping[str, Any]) -> list[str]:
    lines = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "?"
        name = setting_name(field)
        if err["type"] == "missing":
            lines.append(f"{name} is required. {_choices(field)}")
            continue
        if err["type"] in ("enum", "literal_error"):
            problem = f"{err['input']!r} is not a valid choice{did_you_mean(field, err['input'])}"
        else:
            # Our validators' own words, without pydantic's "Value error, " in front.
            problem = str(err["msg"]).removeprefix("Value error, ")
        lines.append(
            f"{name} = {_plain(data.get(field))!r}: {problem}. {_choices(field)}".rstrip()
        )
    return lines


_CHOICES: dict[str, tuple[str, ...]] = {
    "purposes": tuple(p.value for p in Purpose),
    "mode": ("enforce", "report"),
    "audit_durability": ("fsync", "none"),
}


def _choices(field: str) -> str:
    if field in _CHOICES:
        return "Valid choices: " + ", ".join(_CHOICES[field]) + "."
    return ""


def did_you_mean(field: str, given: Any) -> str:
    """ " (did you mean 'search-indexing'?)" for a near miss ('search_indexing', 'Research')."""
    choices = _CHOICES.get(field, ())
    text = str(given).strip().lower().replace("_", "-").replace(" ", "-")
    if text in choices:
        return f" (did you mean {text!r}?)"
    close = difflib.get_close_matches(text, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def given_as(path: Path, raw: Any) -> str:
    """How a path setting is shown in a message: its value, and where it resolved to when the
    value was relative (`'audit' (/srv/proj/audit)`)."""
    if raw is None or str(raw) == str(path):
        return repr(str(path))
    return f"{str(raw)!r} ({path})"


def _check_audit_dir(path: Path, raw: Any = None) -> None:
    name = setting_name("audit_dir")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SettingsError(
            f"{name} = {given_as(path, raw)}: the audit directory is not writable ({reason}). "
            "Choose a directory the crawler can create and write to."
        ) from None


def product_token(settings: PoliteSettings, user_agent: str) -> str:
    """The robots.txt product token, and a check that the User-Agent really carries it."""
    token = settings.user_agent_token
    if token is None:
        token = leading_token(user_agent)
        if token is None:
            raise SettingsError(
                f"cannot derive a robots.txt product token from USER_AGENT = {user_agent!r}. "
                f"Set {setting_name('user_agent_token')} to your crawler's token, and make "
                "USER_AGENT name it (e.g. 'examplebot/1.0 (+https://example.org/bot)')."
            )
    if token.lower() not in user_agent.lower():
        raise SettingsError(
            f"USER_AGENT = {user_agent!r} does not contain the product token {token!r} "
            f"({setting_name('user_agent_token')}). Sites match robots.txt groups by this token, "
            "so the User-Agent you send must name it."
        )
    return token


def leading_token(user_agent: str) -> str | None:
    """The product token a User-Agent starts with; None for a browser string or none at all."""
    first = user_agent.strip().split("/", 1)[0].split(" ", 1)[0]
    if not _TOKEN.fullmatch(first) or first.lower() == "mozilla":
        return None
    return first


def narrow(declared: Iterable[Purpose], spider_purposes: Any) -> frozenset[Purpose]:
    """A spider may narrow the declared purposes (attribute polite_crawl_purposes), not widen."""
    allowed = frozenset(declared)
    if spider_purposes is None:
        return allowed
    raw = spider_purposes.split(",") if isinstance(spider_purposes, str) else spider_purposes
    wanted_list = []
    for p in raw:
        try:
            wanted_list.append(Purpose(str(p).strip()))
        except ValueError:
            raise SettingsError(
                f"spider attribute polite_crawl_purposes = {_plain(spider_purposes)!r}: "
                f"{str(p).strip()!r} is not a valid choice{did_you_mean('purposes', p)}. "
                f"{_choices('purposes')}"
            ) from None
    wanted = frozenset(wanted_list)
    extra = wanted - allowed
    if extra:
        raise SettingsError(
            "spider attribute polite_crawl_purposes may only narrow POLITE_CRAWL_PURPOSES; "
            f"not declared: {', '.join(sorted(p.value for p in extra))}"
        )
    return wanted or allowed


# What a spider's own settings may not do to the value the project's settings gave (the check
# runs in addon.py; docs/security.md lists them): each setting, and the test that makes a
# spider's value weaker than the project's.
class Unset:
    """A setting the project's settings did not give: its default applies."""


UNSET = Unset()

_WEAKER: dict[str, tuple[Callable[[Any, Any], bool], str]] = {
    "enabled": (lambda spider, project: project and not spider, "switches the gate off"),
    "mode": (
        lambda spider, project: project == "enforce" and spider != "enforce",
        "lets refused requests through",
    ),
    "purposes": (
        lambda spider, project: not set(spider) <= set(project),
        "is not a narrowing of the project's purposes",
    ),
    "audit_durability": (
        lambda spider, project: project == "fsync" and spider != "fsync",
        "sends requests before their records are on disk",
    ),
    "audit_key_create": (
        lambda spider, project: spider and not project,
        "creates a log-signing key where the project forbids it",
    ),
    "audit_redact_params": (
        lambda spider, project: not {p.lower() for p in project} <= {p.lower() for p in spider},
        "writes query parameters the project redacts into the log",
    ),
    "consents": (
        lambda spider, project: spider is not None and spider != project,
        "names consent grants the project did not",
    ),
    "policy_dirs": (
        lambda spider, project: spider != project,
        "loads other policy files than the project (a file replaces a platform's policy by id)",
    ),
    "robots_cache_path": (
        lambda spider, project: spider is not None and spider != project,
        "trusts robots.txt copies the project did not",
    ),
    "robots_parse_limit": (lambda spider, project: spider < project, "reads less of robots.txt"),
    "robots_cache_ttl": (
        lambda spider, project: spider > project,
        "keeps robots.txt copies longer",
    ),
    "robots_max_crawl_delay": (
        lambda spider, project: spider < project,
        "honours less of a site's Crawl-delay",
    ),
    "allow_internal_networks": (
        lambda spider, project: not _within(spider, project),
        "opens internal networks the project did not",
    ),
    "web_bot_auth": (lambda spider, project: project and not spider, "sends requests unsigned"),
    "redis_url": (
        lambda spider, project: spider != project,
        "leaves the fleet the project joins (or joins another)",
    ),
    "redis_cluster": (
        lambda spider, project: spider != project,
        "talks to the fleet's Redis another way than the project",
    ),
    "redis_prefix": (
        lambda spider, project: spider != project,
        "keeps its own fleet state apart from the project's",
    ),
    "audit_key": (
        lambda spider, project: spider != project,
        "signs the log with another key than the project's",
    ),
    "bot_auth_key": (
        lambda spider, project: spider != project,
        "signs with another key than the project's",
    ),
    "signature_agent": (
        lambda spider, project: project is not None and spider != project,
        "names another key directory than the project's",
    ),
    "signature_ttl": (
        lambda spider, project: spider > project,
        "keeps signatures valid (replayable) longer",
    ),
}


def _within(networks: list[str], outer: list[str]) -> bool:
    """Every network of `networks` lies inside one of `outer` (both validated CIDR strings)."""
    wide = [ipaddress.ip_network(n) for n in outer]
    return all(
        any(
            net.version == o.version and net.subnet_of(o)  # type: ignore[arg-type]
            for o in wide
        )
        for net in map(ipaddress.ip_network, networks)
    )


GUARDED = tuple(setting_name(field) for field in _WEAKER)


def refuse_weakening(final: PoliteSettings, project: Mapping[str, Any]) -> None:
    """Raise SettingsError if the settings the spider changed (name -> the project's raw value,
    or UNSET) are weaker in `final` than they were in the project's settings."""
    fields = {name.removeprefix(PREFIX).lower(): raw for name, raw in project.items()}
    data = final.model_dump(exclude=set(fields))
    for field, raw in fields.items():
        if raw is None or isinstance(raw, Unset):
            info = PoliteSettings.model_fields[field]
            if info.is_required():
                data[field] = getattr(final, field)  # the project declared none: nothing to weaken
            continue
        data[field] = raw
    try:
        before = PoliteSettings.model_validate(data, context={"base": project_root()})
    except ValidationError as exc:
        raise SettingsError(
            "cannot tell whether the spider's custom_settings weaken the project's, whose own "
            f"value is invalid: {_explain(exc, data)}"
        ) from None
    problems = []
    for field in fields:
        weaker, why = _WEAKER[field]
        spider, was = getattr(final, field), getattr(before, field)
        if weaker(spider, was):
            problems.append(
                f"{setting_name(field)} = {_plain(spider)!r} (the project's: {_plain(was)!r}) "
                f"{why}"
            )
    if problems:
        raise SettingsError(
            "the spider's custom_settings may not weaken the project's settings: "
            + "; ".join(problems)
            + ". Remove them from the spider, or change the project's settings (the command "
            "line's -s decides over both)."
        )


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Purpose):
        return value.value
    return value


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
