"""ai.txt (Spawning): a robots.txt-like file at `/ai.txt` whose Allow/Disallow rules (often
file-extension globs such as `Disallow: *.jpg`) say what may be used for AI. There is no formal
spec; we read it exactly like robots.txt (RFC 9309 groups and matching) for our product token,
and only when a declared purpose is an AI use (training, AI input, facial recognition)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.core.checks.files import FileCheck
from polite_crawl.core.decision import CheckResult, Outcome, Reason
from polite_crawl.robots.rules import Rules
from polite_crawl.signals.mapping import AI_USES

if TYPE_CHECKING:
    from polite_crawl.core.context import RequestContext
    from polite_crawl.core.decision import Evidence

PATH = "/ai.txt"


_PASS, _DENY = Outcome.PASS, Outcome.DENY  # read once (see robots.py)
_ALLOWED, _DISALLOWED = Reason.ALLOWED, Reason.AITXT_DISALLOWED


class AiTxtCheck(FileCheck[Rules]):
    name = "aitxt"
    preflight = "aitxt"
    relevant = AI_USES
    unreachable = Reason.AITXT_UNREACHABLE

    def judge(self, ctx: RequestContext, doc: Rules, evidence: Evidence) -> CheckResult:
        match = doc.match_path(ctx.path)
        if match.rule is not None:
            kind = "Allow" if match.rule.allow else "Disallow"
            evidence["rule"] = {"line": match.rule.line, "text": f"{kind}: {match.rule.pattern}"}
        if match.allowed:
            return CheckResult(self.name, _PASS, _ALLOWED, evidence)
        evidence["purposes"] = sorted(p.value for p in ctx.purposes & AI_USES)
        return CheckResult(self.name, _DENY, _DISALLOWED, evidence)
