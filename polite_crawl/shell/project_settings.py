"""What the project's settings said before a spider's own settings changed them.

Scrapy merges a spider's `custom_settings` into the crawler's settings at 'spider' priority,
above 'project', when the Crawler is created, before any add-on runs; and it keeps only the
winning value of each setting. So the project's values of the settings a spider may not weaken
(settings.GUARDED, and the crawler's identity: IDENTITY) are noted earlier: Scrapy (2.13 and
later) calls an add-on's `update_pre_crawler_settings` once with the settings the crawler
process was created with (the project's settings module, the command line's `-s`, a
CrawlerProcess's own dict), before any crawler or spider exists. The note is kept in those
settings, at the command line's priority, so every crawler's copy carries it and a spider's
`custom_settings` cannot replace it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.misc import load_object

from polite_crawl.settings import GUARDED, UNSET, leading_token, setting_name

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

KEY = "_POLITE_CRAWL_PROJECT_SETTINGS"  # not POLITE_CRAWL_*: that prefix is validated
# The settings that make the robots.txt product token (settings.product_token).
IDENTITY = (setting_name("user_agent_token"), "USER_AGENT")
_DEFAULT = SETTINGS_PRIORITIES["default"]
_SPIDER = SETTINGS_PRIORITIES["spider"]
_KEPT_AT = SETTINGS_PRIORITIES["cmdline"]

Noted = dict[str, tuple[Any, int]]  # name -> (value, priority)


def remember(settings: BaseSettings) -> None:
    """Note the guarded settings as the crawler process has them (name, value, priority)."""
    if settings.frozen:
        return  # nothing can be noted; the spider's values are then held against the defaults
    noted = tuple(
        (name, settings[name], priority)
        for name in (*GUARDED, *IDENTITY)
        if (priority := settings.getpriority(name)) is not None
    )
    settings.set(KEY, noted, priority=_KEPT_AT)


def changed_by_the_spider(settings: BaseSettings, addon: type) -> dict[str, Any]:
    """The guarded settings a crawler's own level (its spider) set: name -> the project's raw
    value, or UNSET where the project left the default."""
    noted = _noted(settings)
    if noted is None and _enabled_by_the_spider(settings, addon):
        return {}  # the project never enabled polite_crawl: the spider's settings are all there is
    project = noted or {}
    changed: dict[str, Any] = {}
    for name in GUARDED:
        priority = settings.getpriority(name)
        if priority is None or priority < _SPIDER:
            continue  # the project's value, a default, or an add-on's below the project's
        if project.get(name) == (settings[name], priority):
            continue  # the command line's own value: the spider did not change it
        changed[name] = project[name][0] if name in project else UNSET
    return changed


def project_product_token(settings: BaseSettings) -> str | None:
    """The robots.txt product token the project's settings (or the command line) name: their
    POLITE_CRAWL_USER_AGENT_TOKEN, or the first product of their USER_AGENT. None where they
    name none (Scrapy's default USER_AGENT, a browser string) or no note was taken."""
    noted = _noted(settings) or {}
    token, _ = noted.get(IDENTITY[0], (None, _DEFAULT))
    if token is not None:
        return str(token)
    user_agent, priority = noted.get(IDENTITY[1], (None, _DEFAULT))
    if user_agent is None or priority <= _DEFAULT:
        return None  # Scrapy's own "Scrapy/x.y": the project chose no identity
    return leading_token(str(user_agent))


def _noted(settings: BaseSettings) -> Noted | None:
    # Only a note at the priority remember() gives it: a spider's custom_settings may set the
    # key too (below it, so ignored where remember() ran), to forge one where it did not.
    if settings.getpriority(KEY) != _KEPT_AT:
        return None
    return {name: (value, priority) for name, value, priority in settings.get(KEY) or ()}


def _enabled_by_the_spider(settings: BaseSettings, addon: type) -> bool:
    addons = settings["ADDONS"]
    for key in addons:
        if (load_object(key) if isinstance(key, str) else key) is addon:
            return (addons.getpriority(key) or 0) >= _SPIDER
    return False
