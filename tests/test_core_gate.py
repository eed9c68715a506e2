"""The gate's contract: ordered checks, one decision, the full trace, Pending for preflights."""

from __future__ import annotations

import pytest

from polite_crawl.core.checks.scheme import SchemeCheck
from polite_crawl.core.context import Origin, RequestContext
from polite_crawl.core.decision import CheckResult, NeedsPreflight, Outcome, Reason, Verdict
from polite_crawl.core.gate import Gate, Pending
from polite_crawl.core.purposes import Purpose

PURPOSES = frozenset({Purpose.RESEARCH})


class Recorder:
    def __init__(
        self,
        name: str,
        outcome: Outcome,
        *,
        network: bool = False,
        pending: tuple[str, ...] = (),
        calls: list[str],
    ) -> None:
        self.name, self.outcome, self.network = name, outcome, network
        self._pending, self.calls = pending, calls

    def evaluate(self, ctx: RequestContext) -> CheckResult | NeedsPreflight:
        if self._pending:
            return NeedsPreflight(self._pending)
        self.calls.append(self.name)
        reason = Reason.ROBOTS_DISALLOWED if self.outcome is Outcome.DENY else Reason.ALLOWED
        return CheckResult(self.name, self.outcome, reason, {"by": self.name})


def ctx(url: str = "http://site.test/page") -> RequestContext:
    return RequestContext.build(url, PURPOSES)


def test_offline_checks_run_before_network_checks_whatever_the_order_given() -> None:
    calls: list[str] = []
    gate = Gate(
        [
            Recorder("net", Outcome.PASS, network=True, calls=calls),
            Recorder("offline", Outcome.PASS, calls=calls),
        ]
    )

    decision = gate.decide(ctx())

    assert calls == ["offline", "net"]
    assert not isinstance(decision, Pending)
    assert [r.check for r in decision.trace] == ["offline", "net"]


def test_an_offline_denial_never_asks_for_a_preflight() -> None:
    calls: list[str] = []
    gate = Gate(
        [
            Recorder("net", Outcome.PASS, network=True, pending=("robots",), calls=calls),
            Recorder("tos", Outcome.DENY, calls=calls),
        ]
    )

    decision = gate.decide(ctx())

    assert not isinstance(decision, Pending)
    assert decision.verdict is Verdict.DENY
    assert calls == ["tos"]


def test_a_missing_preflight_makes_the_gate_pending() -> None:
    calls: list[str] = []
    gate = Gate([Recorder("net", Outcome.PASS, network=True, pending=("robots",), calls=calls)])

    result = gate.decide(ctx("https://site.test:8443/x"))

    assert result == Pending(Origin("https", "site.test", 8443), ("robots",))
    assert calls == []


def test_all_passing_checks_give_allow_with_every_checks_evidence() -> None:
    calls: list[str] = []
    gate = Gate(
        [Recorder("a", Outcome.PASS, calls=calls), Recorder("b", Outcome.PASS, calls=calls)]
    )

    decision = gate.decide(ctx())

    assert not isinstance(decision, Pending)
    assert decision.allowed
    assert decision.evidence == {"a": {"by": "a"}, "b": {"by": "b"}}


@pytest.mark.parametrize(
    ("url", "verdict", "reason"),
    [
        ("http://site.test/", None, None),
        ("data:text/plain,hello", Verdict.ALLOW, Reason.LOCAL_SCHEME),
        ("file:///etc/hostname", Verdict.ALLOW, Reason.LOCAL_SCHEME),
        ("ftp://site.test/file", Verdict.DENY, Reason.UNSUPPORTED_SCHEME),
        ("s3://bucket/key", Verdict.DENY, Reason.UNSUPPORTED_SCHEME),
    ],
)
def test_scheme_check(url: str, verdict: Verdict | None, reason: Reason | None) -> None:
    decision = Gate([SchemeCheck()]).decide(ctx(url))

    assert not isinstance(decision, Pending)
    if verdict is None:
        assert decision.allowed
        assert decision.trace[0].outcome is Outcome.PASS
    else:
        assert decision.verdict is verdict
        assert decision.reason is reason


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://Site.TEST/a", "http://site.test"),
        ("https://site.test:443/a", "https://site.test"),
        ("http://site.test:8080/a", "http://site.test:8080"),
        ("https://user:pw@site.test/", "https://site.test"),
        ("http://[::1]:81/", "http://[::1]:81"),
    ],
)
def test_origin_is_scheme_host_port(url: str, origin: str) -> None:
    assert str(Origin.of(url)) == origin


def test_http_and_https_are_different_origins() -> None:
    assert Origin.of("http://site.test/") != Origin.of("https://site.test/")


class Faulty:
    """A check that answers with an outcome outside the enum (a bug, or a plug-in gone wrong)."""

    name, network = "faulty", False

    def evaluate(self, ctx: RequestContext) -> CheckResult:
        return CheckResult(self.name, "maybe", Reason.ALLOWED)  # type: ignore[arg-type]


def test_an_outcome_the_gate_does_not_know_refuses() -> None:
    calls: list[str] = []
    gate = Gate([Faulty(), Recorder("later", Outcome.PASS, calls=calls)])

    decision = gate.decide(ctx())

    assert not isinstance(decision, Pending)
    assert decision.verdict is Verdict.DENY  # never an allow by default
    assert calls == []
