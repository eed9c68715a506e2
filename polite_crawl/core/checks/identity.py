"""Who the request says it is, and where it says it goes, must be what the gate judged.

- The User-Agent sent must name the robots.txt product token: sites match their robots.txt
  groups by it, and a request that hides it (UA rotation, a browser string) is refused, as is
  one with several User-Agent values (the caller joins them with a line break): a server that
  reads the first would see whatever stands before the token.
- A Host header naming another host than the URL would let a request reach a site the gate
  never judged (e.g. an IP address URL with `Host: www.reddit.com`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from polite_crawl.core.checks import OfflineCheck
from polite_crawl.core.decision import CheckResult, Outcome, Reason

if TYPE_CHECKING:
    from polite_crawl.core.context import Origin, RequestContext


PASSED = CheckResult("identity", Outcome.PASS, Reason.ALLOWED)


def names_origin(host: str, origin: Origin) -> bool:
    """Whether a Host header is exactly `name[:port]` for the URL's own host and port. Anything
    else is read differently by different parsers: `site.test:80@www.reddit.com` is
    www.reddit.com to a URL parser, `site.test:www.reddit.com` has no port, `site.test/x` is no
    host; another port is another service than the one whose robots.txt was read."""
    value = host.strip()
    try:
        parts = urlsplit("//" + value)
        port = parts.port
    except ValueError:
        return False
    if parts.netloc != value or "@" in value:
        return False
    name = (parts.hostname or "").rstrip(".")
    return name == origin.host.rstrip(".") and port in (None, origin.port)


class IdentityCheck(OfflineCheck):
    name = "identity"

    def __init__(self, token: str) -> None:
        self.token = token.lower()

    def evaluate(self, ctx: RequestContext) -> CheckResult:
        host = ctx.host_header
        if host is not None and not names_origin(host, ctx.origin):
            return CheckResult(
                self.name,
                Outcome.DENY,
                Reason.HOST_HEADER,
                {"host_header": host, "url_host": ctx.origin.host},
            )
        ua = ctx.user_agent
        # Several values (joined by a line break) would send a server that reads the first one
        # whatever stands before the token.
        if ua is not None and (self.token not in ua.lower() or "\n" in ua):
            return CheckResult(
                self.name,
                Outcome.DENY,
                Reason.USER_AGENT,
                {"user_agent": ctx.user_agent, "token": self.token},
            )
        return PASSED
