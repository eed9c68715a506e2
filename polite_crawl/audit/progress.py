"""Progress of a long pass over a log (`audit verify`, `export`, `report`): a bar with the rate
and the time left, on stderr, only on a terminal and only for logs over THRESHOLD records (a
short log is done before a bar would be read; a pipe or a file gets no carriage returns)."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path
    from typing import TextIO

THRESHOLD = 100_000
SAMPLE = 1 << 20  # bytes read to estimate a log's record count
WIDTH = 30
INTERVAL = 0.25  # seconds between redraws: drawing is not free on a slow terminal


def estimate_records(path: Path, size: int) -> int:
    """The log's record count, from the mean record length of its first MiB (records are one
    line each): enough for a bar and a time left, without a pass of its own."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(SAMPLE)
    except OSError:
        return 0
    lines = head.count(b"\n")
    if not lines:
        return 0
    return round(size * lines / len(head))


class Progress:
    def __init__(
        self, label: str, total: int, stream: TextIO | None = None, *, enabled: bool = True
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.label = label
        self.total = max(total, 1)
        self.enabled = enabled and total > THRESHOLD and self.stream.isatty()
        self.started = time.monotonic()
        self._last = 0.0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < INTERVAL:
            return
        self._last = now
        self._draw(done, now)

    def close(self, done: int) -> None:
        if not self.enabled:
            return
        self.total = done  # the estimate gives way to the count
        self._draw(done, time.monotonic())
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self, done: int, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        share = min(done / self.total, 1.0)
        rate = done / elapsed
        left = (self.total - done) / rate if rate and done < self.total else 0.0
        bar = "#" * int(WIDTH * share)
        self.stream.write(
            f"\r{self.label} [{bar:<{WIDTH}}] {share:4.0%} {done:,} records "
            f"{rate:,.0f}/s {_clock(elapsed)} elapsed, {_clock(left)} left "
        )
        self.stream.flush()


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"
