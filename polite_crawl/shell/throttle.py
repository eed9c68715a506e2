"""Crawl-delay through Scrapy's own downloader slots.

A slot's delay is randomised by ±jitter (DOWNLOAD_DELAY_JITTER, 0.5 by default), so the delay
set here is raised until its *shortest* draw still honours the Crawl-delay. The user's own
DOWNLOAD_DELAY (or DOWNLOAD_SLOTS delay) is a floor: it is never lowered. Re-applied before
every request, so AutoThrottle cannot talk it down between responses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polite_crawl.shell._compat import default_jitter, slot_jitter

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
        slot.delay = max(slot.delay, _spread(delay, slot_jitter(slot)))
        return float(slot.delay)
    # Not created yet: Scrapy reads per-slot settings when it creates (or re-creates) a slot.
    per_slot: dict[str, dict[str, Any]] = downloader.per_slot_settings
    entry = per_slot.setdefault(key, {})
    floor = float(entry.get("delay", crawler.settings.getfloat("DOWNLOAD_DELAY")))
    entry["delay"] = max(floor, _spread(delay, default_jitter(crawler, entry)))
    return float(entry["delay"])


def _spread(delay: float, jitter: float) -> float:
    return delay / (1 - min(max(jitter, 0.0), _MAX_JITTER))
