"""One module per check. Each is small, synchronous and Scrapy-free."""

from __future__ import annotations


class OfflineCheck:
    """A check that needs no preflight: it can always answer at once."""

    name = "offline"
    network = False
