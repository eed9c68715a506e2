"""Which URL schemes the gate can judge at all."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.core.checks import OfflineCheck
from polite_crawl.core.decision import CheckResult, Outcome, Reason

if TYPE_CHECKING:
    from polite_crawl.core.context import RequestContext

WEB_SCHEMES = frozenset({"http", "https"})
# data: and file: URLs never reach another party: there is nobody to be polite to.
LOCAL_SCHEMES = frozenset({"data", "file"})


PASSED = CheckResult("scheme", Outcome.PASS, Reason.ALLOWED)


class SchemeCheck(OfflineCheck):
    """Fail closed on schemes we cannot check (ftp, s3, ...) rather than wave them through."""

    name = "scheme"

    def evaluate(self, ctx: RequestContext) -> CheckResult:
        scheme = ctx.origin.scheme
        if scheme in WEB_SCHEMES:
            return PASSED
        if scheme in LOCAL_SCHEMES:
            return CheckResult(self.name, Outcome.ALLOW, Reason.LOCAL_SCHEME, {"scheme": scheme})
        return CheckResult(
            self.name, Outcome.DENY, Reason.UNSUPPORTED_SCHEME, {"scheme": scheme or "(none)"}
        )
