"""A platform's access log for `polite-crawl audit match`: JSON lines, one per request received.

    {"time": "2026-12-06T05:01:02.5Z", "method": "GET", "url": "https://site.example/a?b=1",
     "signature-input": "...", "signature": "...", "signature-agent": "..."}

`time` is when the request was received (RFC 3339, with an offset or `Z`); `url` the absolute
URL it asked for (scheme, the Host it named, path and query as received); the three header
fields are the values received, absent or null when the request had none. Other members are
ignored. Blank lines are skipped. Anything else is an error naming the file and line: a log
that cannot be read says nothing either way about the export.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from polite_crawl.botauth.errors import BotAuthError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

HEADER_FIELDS = ("signature-input", "signature", "signature-agent")
# RFC 3339 section 5.6 date-time (a space for the T, as section 5.6's note allows, too).
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)
MAX_LINE = 1 << 20  # a request line with its header fields; more is not an access log


class AccessLogError(BotAuthError):
    """The access log cannot be read: the message names the file and line."""


@dataclass(frozen=True)
class Received:
    line: int
    time: float  # POSIX seconds
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]  # the signature fields it carried

    @property
    def signed(self) -> bool:
        return any(name in ("signature-input", "signature") for name, _ in self.headers)


def rfc3339(text: str) -> float:
    """POSIX seconds of an RFC 3339 date-time (Python 3.10's fromisoformat reads no `Z`)."""
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise ValueError(f"{text!r} is not an RFC 3339 date-time (like 2026-12-06T05:01:02Z)")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction = float(m.group(7)) if m.group(7) else 0.0
    zone = m.group(8)
    offset = datetime.timedelta(0)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        offset = sign * datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    # A leap second (:60) is the last second of its minute, as POSIX time counts it.
    at = datetime.datetime(
        year, month, day, hour, minute, min(second, 59), tzinfo=datetime.timezone(offset)
    )
    return at.timestamp() + fraction


def _received(n: int, raw: bytes) -> Received:
    try:
        entry = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(entry, dict):
        raise ValueError("not a JSON object")
    for name in ("time", "method", "url"):
        if not isinstance(entry.get(name), str) or not entry[name]:
            raise ValueError(f'"{name}" must be a non-empty string')
    at = rfc3339(entry["time"])
    url = entry["url"]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f'"url" {url!r} is not an absolute http(s) URL')
    headers = []
    for name in HEADER_FIELDS:
        value = entry.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValueError(f'"{name}" must be a string (the field value received) or null')
        headers.append((name, value))
    return Received(n, at, entry["method"], url, tuple(headers))


def read_access_log(path: Path) -> Iterator[Received]:
    """Each request of the log, in order; AccessLogError at the first line that is not one."""
    try:
        with open(path, "rb") as fh:
            n = 0
            while raw := fh.readline(MAX_LINE + 1):  # a line is never read whole past the cap
                n += 1
                if len(raw) > MAX_LINE:
                    raise AccessLogError(f"{path}:{n}: longer than {MAX_LINE} bytes")
                if not raw.strip():
                    continue
                try:
                    yield _received(n, raw)
                except ValueError as exc:
                    raise AccessLogError(f"{path}:{n}: {exc}") from None
    except OSError as exc:
        raise AccessLogError(f"{path}: {exc.strerror or exc}") from None
