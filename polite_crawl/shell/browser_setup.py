"""Where the add-on finds scrapy-playwright in DOWNLOAD_HANDLERS, and what it puts there
instead (behind the wire check): the gated handler of browser_handler.py (docs/browser.md)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.utils.misc import load_object

from polite_crawl.browser import CHECKED_BROWSER
from polite_crawl.settings import refused_start

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

# Where the add-on finds scrapy-playwright's handler in DOWNLOAD_HANDLERS, and what it puts in
# its place behind the wire check.
PLAYWRIGHT_HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
GATED_HANDLER = "polite_crawl.shell.browser_handler.GatedPlaywrightHandler"


def gated(path: Any, settings: BaseSettings) -> Any:
    """The handler the wire check calls for a scheme: scrapy-playwright's, listed by the user
    as its README says, becomes the gated one; any other is kept."""
    name = path if isinstance(path, str) else f"{path.__module__}.{path.__qualname__}"
    if name != PLAYWRIGHT_HANDLER:
        _not_a_browser(path, name)
        return path
    browser = settings.get("PLAYWRIGHT_BROWSER_TYPE") or CHECKED_BROWSER
    if browser != CHECKED_BROWSER:
        message = (
            f"PLAYWRIGHT_BROWSER_TYPE = {browser!r}: polite_crawl gates browser crawls in "
            f"{CHECKED_BROWSER} only (the browser it was checked in), and sends nothing through "
            f"a browser it cannot gate; set PLAYWRIGHT_BROWSER_TYPE = {CHECKED_BROWSER!r} or "
            "leave it unset"
        )
        raise refused_start(logger, message)
    try:
        from polite_crawl.shell import browser_handler  # imports scrapy-playwright
    except ImportError as exc:
        why: str | None = f"it cannot be imported ({exc})"
    else:
        why = browser_handler.check_supported()
    if why is not None:
        message = (
            f"DOWNLOAD_HANDLERS names {PLAYWRIGHT_HANDLER}, but {why}: polite_crawl gates the "
            "scrapy-playwright release it was checked against (pip install "
            "'polite-crawl[browser]'), and sends nothing through a browser it cannot gate"
        )
        raise refused_start(logger, message)
    return GATED_HANDLER


def _not_a_browser(path: Any, name: str) -> None:
    """A handler of the user's own that is a scrapy-playwright handler under another name (a
    subclass) would render pages with no gate in the browser: the crawl does not start."""
    if name.startswith("scrapy.core.downloader.handlers."):
        return  # Scrapy's own (every crawl has them): no browser
    try:
        from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler
    except ImportError:  # no scrapy-playwright: no handler can be one
        return
    try:
        handler = load_object(path) if isinstance(path, str) else path
    except (ImportError, AttributeError, NameError, ValueError):
        return  # Scrapy says so when it loads it
    if isinstance(handler, type) and issubclass(handler, ScrapyPlaywrightDownloadHandler):
        message = (
            f"DOWNLOAD_HANDLERS names {name}, a subclass of scrapy-playwright's handler: "
            "polite_crawl gates only scrapy-playwright's own (list it instead), and sends "
            "nothing through a browser it cannot gate"
        )
        raise refused_start(logger, message)
