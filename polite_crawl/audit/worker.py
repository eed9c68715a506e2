"""A worker's name in the origins of the logs a fleet's shared key signs (docs/format.md §2):
`<operator>/<worker>/polite-crawl/<platform>`."""

from __future__ import annotations

import re

# Part of signed notes' key names and of a fleet export's folder names: no whitespace, "+" or
# "/", and never "." or "..".
WORKER_NAME = re.compile(r"(?!\.+$)[A-Za-z0-9._-]{1,64}")


def worker_of(origin: str) -> str | None:
    """The worker part of `<operator>/<worker>/polite-crawl/<x>`; None for a single crawler's
    `<operator>/polite-crawl/<x>`."""
    operator = origin.rsplit("/polite-crawl/", 1)[0]
    return operator.split("/", 1)[1] if "/" in operator else None
