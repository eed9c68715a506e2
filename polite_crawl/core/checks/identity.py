"""Who the request says it is, and where it says it goes, must be what the gate judged.

- The User-Agent sent must name the robots.txt product token: sites match their robots.txt
  groups by it, and a request that hides it (UA rotation, a browser string) is refused.
- A Host header naming another host than the URL would let a request reach a site the gate
  never judged (e.g. an IP address URL with `Host: www.reddit.com`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.core.checks import OfflineCheck
from polite_crawl.core.decision import CheckResult, Outcome, Reason

if TYPE_CHECKING:
    from polite_crawl.core.context import RequestContext


PASSED = CheckResult("identity", Outcome.PASS, Reason.ALLOWED)


class IdentityCheck(OfflineCheck):
    name = "identity"

    def __init__(self, token: str) -> None:
        self.token = token.lower()

    def evaluate(self, ctx: RequestContext) -> CheckResult:
        host = ctx.host_header
        if host is not None:
            name = host.strip().lower().rstrip(".")
            name = name[1:].split("]")[0] if name.startswith("[") else name.split(":")[0]
            if name != ctx.origin.host:
                return CheckResult(
                    self.name,
                    Outcome.DENY,
                    Reason.HOST_HEADER,
                    {"host_header": host, "url_host": ctx.origin.host},
                )
        if ctx.user_agent is not None and self.token not in ctx.user_agent.lower():
            return CheckResult(
                self.name,
                Outcome.DENY,
                Reason.USER_AGENT,
                {"user_agent": ctx.user_agent, "token": self.token},
            )
        return PASSED
