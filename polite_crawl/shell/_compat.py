"""Every probe of the Scrapy version in one place, as named capabilities (2.13 to 2.19)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.core.downloader.handlers import DownloadHandlers
from scrapy.http.headers import Headers
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response


async def engine_download(crawler: Crawler, request: Request) -> Response:
    """Download through the engine (downloader middlewares apply, the spider is not called)."""
    engine = crawler.engine
    assert engine is not None
    if hasattr(engine, "download_async"):  # Scrapy >= 2.14
        return await engine.download_async(request)
    return await maybe_deferred_to_future(engine.download(request))  # Scrapy 2.13


def _stores_title_case_lists() -> bool:
    # Headers (a CaselessDict) keeps each value list under the name's title-case bytes; reading
    # that entry directly skips its key normalisation, a few microseconds a call on every
    # request (#21). Checked once: a Scrapy that stores them otherwise is read through getlist.
    probe = Headers({"user-agent": "a", "HOST": ["b", "c"]})
    return dict.get(probe, b"User-Agent") == [b"a"] and dict.get(probe, b"Host") == [b"b", b"c"]


_TITLE_CASE_LISTS = _stores_title_case_lists()


# Each header name asked for, as Headers stores it: callers ask for a handful of names.
_STORED_NAMES: dict[str | bytes, bytes] = {}


def header_values(headers: Any, name: str | bytes) -> list[bytes] | None:
    """Every value of the header `name` (any case), or None/empty when it is absent:
    Headers.getlist(name), read directly where that is known to match."""
    if _TITLE_CASE_LISTS and type(headers) is Headers:
        stored = _STORED_NAMES.get(name)
        if stored is None:
            title = name.title()
            stored = _STORED_NAMES[name] = (
                title if isinstance(title, bytes) else title.encode("latin-1")
            )
        return dict.get(headers, stored)
    return headers.getlist(name)  # type: ignore[no-any-return]


# Scrapy >= 2.14: download handlers are coroutines (2.13: they return Deferreds, take the spider).
ASYNC_DOWNLOAD_HANDLERS = hasattr(DownloadHandlers, "download_request_async")


def close_spider(crawler: Crawler, reason: str) -> None:
    """Ask the engine to close the crawl's spider (no-op before the engine exists)."""
    engine = crawler.engine
    if engine is None:
        return
    if hasattr(engine, "close_spider_async"):  # Scrapy >= 2.14
        deferred_from_coro(engine.close_spider_async(reason=reason))
    elif crawler.spider is not None:
        engine.close_spider(crawler.spider, reason=reason)


def slot_jitter(slot: Any) -> float:
    """The fraction by which a downloader slot randomises its delay."""
    jitter = getattr(slot, "jitter", None)  # Scrapy >= 2.19
    if jitter is not None:
        return float(jitter)
    return 0.5 if getattr(slot, "randomize_delay", False) else 0.0  # Scrapy < 2.19


def default_jitter(crawler: Crawler, per_slot: dict[str, Any]) -> float:
    """The jitter a slot not created yet will get, from its DOWNLOAD_SLOTS entry or the
    crawl's settings."""
    if "jitter" in per_slot:
        return float(per_slot["jitter"])
    if "randomize_delay" in per_slot:
        return 0.5 if per_slot["randomize_delay"] else 0.0
    assert crawler.engine is not None
    resolved = getattr(crawler.engine.downloader, "_jitter", None)  # Scrapy >= 2.19
    if resolved is not None:
        return float(resolved)
    return 0.5 if crawler.settings.getbool("RANDOMIZE_DOWNLOAD_DELAY") else 0.0


def slot_load(crawler: Crawler, key: str) -> int:
    """Requests in the downloader slot `key`: queued there (Scrapy's delay) or in transfer. 0
    when the engine or the slot is not there (Downloader.slots is public, its Slot's queue and
    transferring are not documented: a version without them reads as an empty slot)."""
    engine = crawler.engine
    slot = engine.downloader.slots.get(key) if engine is not None else None
    if slot is None:
        return 0
    return len(getattr(slot, "queue", ())) + len(getattr(slot, "transferring", ()))
