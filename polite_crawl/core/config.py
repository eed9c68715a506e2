"""Start-up: everything the crawl needs validated before its first request, in one Config.

Settings (the POLITE_CRAWL_* model in polite_crawl/settings.py), the robots.txt product token
and the spider's purposes, the platform policies and consent grants. Any problem is one ERROR
line and a SettingsError. Scrapy-free: the add-on, the middleware and `polite-crawl check` load
the same Config from a mapping of settings (Scrapy's Settings is one).
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from polite_crawl.origin.disk import OriginCacheError, OriginDiskCache
from polite_crawl.policy.loader import PolicyError, load_all, load_consents
from polite_crawl.policy.resolver import Resolver
from polite_crawl.settings import (
    PoliteSettings,
    SettingsError,
    from_mapping,
    narrow,
    product_token,
    refuse_weakening,
    refused_start,
    setting_name,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from polite_crawl.core.purposes import Purpose
    from polite_crawl.policy.consent import Grant
    from polite_crawl.policy.loader import LoadedPolicy

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Config:
    """Everything start-up validation established."""

    settings: PoliteSettings
    token: str
    purposes: frozenset[Purpose]
    user_agent: str
    policies: dict[str, LoadedPolicy]
    grants: tuple[Grant, ...] = ()
    consents_sha256: str | None = None


def load(
    values: Mapping[str, Any],
    spider: object | None = None,
    *,
    changed_by_spider: Mapping[str, Any] | None = None,
    project_token: str | None = None,
) -> Config | None:
    """Validate settings, user agent and spider purposes; None when the add-on is disabled.

    changed_by_spider: the settings the spider's own settings changed, with the project's
    values (project_settings.py); the spider may not have weakened them.
    project_token: the robots.txt product token the project's settings name; the spider's user
    agent may not change it.

    A problem is logged as one ERROR line and raised as SettingsError, which stops the crawl
    before its first request.
    """
    try:
        model = from_mapping(values)
        if changed_by_spider:
            refuse_weakening(model, changed_by_spider)
        if not model.enabled:
            return None
        # A spider's user_agent attribute is what Scrapy sends by default: validate that one.
        user_agent = str(getattr(spider, "user_agent", None) or values.get("USER_AGENT") or "")
        token = product_token(model, user_agent)
        if project_token is not None and token.lower() != project_token.lower():
            # Sites write robots.txt groups for a crawler's token: another one dodges them.
            raise SettingsError(
                f"the spider's user agent {user_agent!r} has the robots.txt product token "
                f"{token!r}, the project's settings {project_token!r}; sites match robots.txt "
                "groups by it, so a spider may not change it. Keep the project's token in the "
                "spider's user_agent (or USER_AGENT), or change the project's settings (the "
                "command line's -s decides over both)."
            )
        purposes = narrow(model.purposes, getattr(spider, "polite_crawl_purposes", None))
        policies, grants, digest = _load_policy_data(model)
    except SettingsError as exc:
        for problem in exc.problems:  # one line each, naming the setting
            logger.error("polite_crawl: the crawl cannot start: %(error)s", {"error": problem})
        raise
    return Config(model, token, purposes, user_agent, policies, grants, digest)


def _load_policy_data(
    model: PoliteSettings,
) -> tuple[dict[str, LoadedPolicy], tuple[Grant, ...], str | None]:
    try:
        policies = load_all(model.policy_dirs)
        resolver = Resolver(policies.values())  # also checks ids, aliases and domain claims
        grants: tuple[Grant, ...] = ()
        digest = None
        if model.consents is not None:
            loaded, digest = load_consents(model.consents)
            grants = tuple(_canonical_platform(g, resolver, model.consents) for g in loaded)
    except PolicyError as exc:
        raise SettingsError(str(exc)) from None
    return policies, grants, digest


def _canonical_platform(grant: Grant, resolver: Resolver, path: Path) -> Grant:
    loaded = resolver.get(grant.platform)
    if loaded is None:
        raise PolicyError(
            f"{path}: grant {grant.id!r}: field platform: {grant.platform!r} is "
            f"not a policy id (known: {', '.join(sorted(resolver.by_id))})"
        )
    return grant.model_copy(update={"platform": loaded.id})


def stale_policies(config: Config, today: datetime.date) -> list[str]:
    limit = datetime.timedelta(days=config.settings.policy_max_age_days)
    return [
        f"{p.path} (reviewed {p.policy.reviewed.isoformat()})"
        for p in sorted(config.policies.values(), key=lambda p: p.id)
        if today - p.policy.reviewed > limit
    ]


def open_origin_cache(path: Path | None) -> OriginDiskCache | None:
    """The on-disk robots.txt cache, or a SettingsError naming the setting."""
    if path is None:
        return None
    try:
        return OriginDiskCache(path)
    except OriginCacheError as exc:
        # The ERROR line is all a user sees (the traceback is dropped): it names the setting.
        message = f"{setting_name('robots_cache_path')} = {str(path)!r}: {exc}"
        raise refused_start(logger, message) from None
