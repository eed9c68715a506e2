"""TDMRep (`/.well-known/tdmrep.json`): a path whose first matching rule reserves text and data
mining rights is not fetched for a text-and-data-mining purpose. Read only when such a purpose
is declared; runs after robots.txt, so a refused URL costs no second file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.core.checks.files import FileCheck
from polite_crawl.core.decision import CheckResult, Outcome, Reason
from polite_crawl.signals.mapping import TEXT_AND_DATA_MINING
from polite_crawl.signals.tdmrep import TdmFile

if TYPE_CHECKING:
    from polite_crawl.core.context import RequestContext
    from polite_crawl.core.decision import Evidence

PATH = "/.well-known/tdmrep.json"


_PASS, _DENY = Outcome.PASS, Outcome.DENY  # read once (see robots.py)
_ALLOWED, _RESERVED = Reason.ALLOWED, Reason.TDMREP_RESERVED


class TdmRepCheck(FileCheck[TdmFile]):
    name = "tdmrep"
    preflight = "tdmrep"
    relevant = TEXT_AND_DATA_MINING
    unreachable = Reason.TDMREP_UNREACHABLE

    def judge(self, ctx: RequestContext, doc: TdmFile, evidence: Evidence) -> CheckResult:
        answer = doc.answer(ctx.path)
        if answer.error is not None:
            evidence["error"] = answer.error
        if answer.rule is not None:
            rule = answer.rule
            evidence["rule"] = {
                "index": rule.index,
                "location": rule.location,
                "tdm-reservation": int(rule.reserved),
            }
            if rule.policy:
                evidence["rule"]["tdm-policy"] = rule.policy
        if not answer.reserved:
            return CheckResult(self.name, _PASS, _ALLOWED, evidence)
        evidence["purposes"] = sorted(p.value for p in ctx.purposes & TEXT_AND_DATA_MINING)
        return CheckResult(self.name, _DENY, _RESERVED, evidence)
