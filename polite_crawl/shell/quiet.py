"""A crawl polite_crawl refuses to start says why in one ERROR line, naming the setting. The
SettingsError then travels up through Scrapy's crawl task, which asyncio reports once more as
"Task exception was never retrieved" with a traceback through Scrapy's internals (and Twisted as
"Unhandled error in Deferred"). That second report says nothing the first did not: it is dropped,
unless LOG_LEVEL is DEBUG."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.settings import SETTINGS_PRIORITIES

from polite_crawl.settings import SettingsError

if TYPE_CHECKING:
    from collections.abc import Mapping

# The loggers a crawl task's uncaught exception reaches: asyncio's exception handler, and
# Twisted's log (through Scrapy's observer) for a Deferred-based CrawlerProcess.
LOGGERS = ("asyncio", "twisted")


class _AlreadySaid(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.debug = False

    def filter(self, record: logging.LogRecord) -> bool:
        if self.debug:
            return True
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, SettingsError):
            return False
        # Twisted's "Unhandled error in Deferred:" comes first, on its own; the failure after it
        # (dropped above). Only a crawl that was refused installs this filter.
        return record.getMessage().strip() != "Unhandled error in Deferred:"


_FILTER = _AlreadySaid()


def install(settings: Mapping[str, Any]) -> None:
    """The crawl was refused (its SettingsError logged): drop the repeated traceback, unless
    the crawl logs at DEBUG."""
    level = settings.get("LOG_LEVEL") or "DEBUG"
    number = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
    # Scrapy's own default is DEBUG: only a DEBUG someone asked for (--loglevel DEBUG, -L,
    # LOG_LEVEL in the settings) shows the traceback.
    getpriority = getattr(settings, "getpriority", None)
    asked = getpriority is None or (getpriority("LOG_LEVEL") or 0) > SETTINGS_PRIORITIES["default"]
    _FILTER.debug = asked and (not isinstance(number, int) or number <= logging.DEBUG)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    if not _FILTER.debug:
        _no_twisted_stderr()


def _no_twisted_stderr() -> None:
    """Scrapy 2.13's `scrapy crawl` keeps the failed crawl's Deferred without an errback; when it
    is collected, Twisted reports "Unhandled error in Deferred" and the traceback, at critical
    level, to its own stderr printer: the one it keeps until someone chooses where Twisted logs.
    Scrapy never chooses (it adds an observer that hands events to Python logging, where the
    filter above sees them), so the printer is dismissed here by choosing no further target,
    and the report reaches the log only through that observer. Only for a refused crawl, whose
    process is ending; never when Twisted's logging was chosen already (that would warn)."""
    try:
        from twisted.logger import globalLogBeginner
    except ImportError:  # pragma: no cover - Twisted is a Scrapy dependency
        return
    # Not yet begun: the stderr printer is still there (Twisted's own attribute; if it is ever
    # renamed, nothing is done and the report is printed as before).
    if getattr(globalLogBeginner, "_temporaryObserver", None) is None:
        return
    globalLogBeginner.beginLoggingTo([], discardBuffer=True, redirectStandardIO=False)
