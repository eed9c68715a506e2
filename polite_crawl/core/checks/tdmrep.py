"""TDMRep (`/.well-known/tdmrep.json`): a path whose first matching rule reserves text and data
mining rights is not fetched for a text-and-data-mining purpose. Read only when such a purpose
is declared; runs after robots.txt, so a refused URL costs no second file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.core.checks.files import FileCheck, file_evidence
from polite_crawl.core.decision import CheckResult, Outcome, Reason
from polite_crawl.robots.state import RobotsState
from polite_crawl.signals.mapping import TEXT_AND_DATA_MINING
from polite_crawl.signals.tdmrep import TdmFile

if TYPE_CHECKING:
    from polite_crawl.core.context import RequestContext
    from polite_crawl.robots.state import Entry

PATH = "/.well-known/tdmrep.json"


class TdmRepCheck(FileCheck[TdmFile]):
    name = "tdmrep"
    preflight = "tdmrep"
    relevant = TEXT_AND_DATA_MINING
    unreachable = Reason.TDMREP_UNREACHABLE

    def judge(self, ctx: RequestContext, entry: Entry[TdmFile]) -> CheckResult:
        evidence = file_evidence(entry)
        if entry.state is RobotsState.UNAVAILABLE or entry.rules is None:
            return CheckResult(self.name, Outcome.PASS, Reason.ALLOWED, evidence)
        answer = entry.rules.answer(ctx.path)
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
            return CheckResult(self.name, Outcome.PASS, Reason.ALLOWED, evidence)
        mining = sorted(p.value for p in ctx.purposes & TEXT_AND_DATA_MINING)
        evidence["purposes"] = mining
        return CheckResult(self.name, Outcome.DENY, Reason.TDMREP_RESERVED, evidence)
