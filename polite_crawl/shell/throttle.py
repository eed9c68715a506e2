"""Crawl-delay through Scrapy's own downloader slots.

A slot's delay is randomised by ±jitter (DOWNLOAD_DELAY_JITTER, 0.5 by default), so the delay
set here is raised until its *shortest* draw still honours the Crawl-delay. The user's own
DOWNLOAD_DELAY (or DOWNLOAD_SLOTS delay) is a floor: it is never lowered. Re-applied before
every request, so AutoThrottle cannot talk it down between responses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

_MAX_JITTER = 0.9


def apply_crawl_delay(crawler: Crawler, request: Request, delay: float) -> float:
    """Make the request's slot wait at least `delay` seconds between requests; return the
    slot delay now in force."""
    engine = crawler.engine
    if engine is None or delay <= 0:
        return 0.0
    downloader = engine.downloader
    key = downloader.get_slot_key(request)
    slot = downloader.slots.get(key)
    if slot is not None:
        slot.delay = max(slot.delay, _spread(delay, _jitter_of_slot(slot)))
        return float(slot.delay)
    # Not created yet: Scrapy reads per-slot settings when it creates (or re-creates) a slot.
    per_slot: dict[str, dict[str, Any]] = downloader.per_slot_settings
    entry = per_slot.setdefault(key, {})
    floor = float(entry.get("delay", crawler.settings.getfloat("DOWNLOAD_DELAY")))
    entry["delay"] = max(floor, _spread(delay, _default_jitter(crawler, entry)))
    return float(entry["delay"])


def _spread(delay: float, jitter: float) -> float:
    return delay / (1 - min(max(jitter, 0.0), _MAX_JITTER))


def _jitter_of_slot(slot: Any) -> float:
    jitter = getattr(slot, "jitter", None)  # Scrapy >= 2.19
    if jitter is not None:
        return float(jitter)
    return 0.5 if getattr(slot, "randomize_delay", False) else 0.0  # Scrapy < 2.19


def _default_jitter(crawler: Crawler, entry: dict[str, Any]) -> float:
    if "jitter" in entry:
        return float(entry["jitter"])
    if "randomize_delay" in entry:
        return 0.5 if entry["randomize_delay"] else 0.0
    assert crawler.engine is not None
    resolved = getattr(crawler.engine.downloader, "_jitter", None)  # Scrapy >= 2.19
    if resolved is not None:
        return float(resolved)
    return 0.5 if crawler.settings.getbool("RANDOMIZE_DOWNLOAD_DELAY") else 0.0
