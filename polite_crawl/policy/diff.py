"""What changes between two policy sets (`polite-crawl policies diff OLD_DIR NEW_DIR`).

A policy update is reviewed by what it does to a crawl, not by its text: for every platform and
every purpose, the verdict the offline ToS check would reach (stance, contact requirement,
minimum delay), and which hosts each platform claims. A grade that changes is shown too: a fact
that was verified and no longer is deserves a second look even when the stance stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from polite_crawl.core.purposes import Purpose

if TYPE_CHECKING:
    from collections.abc import Iterable

    from polite_crawl.policy.loader import LoadedPolicy
    from polite_crawl.policy.model import Policy


@dataclass(frozen=True, slots=True)
class Change:
    platform: str
    what: str  # a purpose, "platform", "claims ...", "aliases ..." or "<purpose> grade"
    old: str
    new: str

    def line(self) -> str:
        return f"{self.platform:<16} {self.what:<28} {self.old} -> {self.new}"


def _verdict(policy: Policy, purpose: Purpose) -> str:
    rule = policy.rule_for(purpose)
    out = rule.stance.value
    if rule.contact_required:
        out += ", contact required"
    if rule.min_delay:
        out += f", min delay {rule.min_delay:g} s"
    return out


def _grade(policy: Policy, purpose: Purpose) -> str:
    rule = policy.rule_for(purpose)
    return (rule.grade or policy.source(rule.source).grade).value


def _claims(policy: Policy) -> set[str]:
    return {*policy.domains, *policy.hosts}


def _whole(pid: str, policy: Policy, wanted: list[Purpose], *, added: bool) -> list[Change]:
    def arrow(was: str, now: str) -> tuple[str, str]:
        return (was, now) if added else (now, was)

    none = "(no policy: robots.txt and signals alone)"
    out = [Change(pid, "platform", *arrow("absent", "present"))]
    out += [Change(pid, p.value, *arrow(none, _verdict(policy, p))) for p in wanted]
    return out


def diff(
    old: Iterable[LoadedPolicy],
    new: Iterable[LoadedPolicy],
    purposes: Iterable[Purpose] = tuple(Purpose),
) -> list[Change]:
    """Every change, by platform id, then purpose in the vocabulary's order."""
    before = {p.id: p.policy for p in old}
    after = {p.id: p.policy for p in new}
    wanted = [p for p in Purpose if p in set(purposes)]
    changes: list[Change] = []
    for pid in sorted(before.keys() | after.keys()):
        # A platform added or dropped: its hosts go from robots.txt alone to a policy, or back;
        # each purpose's verdict is listed so that the reader sees what that means.
        if pid not in before:
            changes += _whole(pid, after[pid], wanted, added=True)
            continue
        if pid not in after:
            changes += _whole(pid, before[pid], wanted, added=False)
            continue
        a, b = before[pid], after[pid]
        # Hosts decide which policy a request meets; aliases decide which platform a consent
        # grant names (a grant for a dropped alias stops start-up).
        for kind, was, now in (
            ("claims", _claims(a), _claims(b)),
            ("aliases", set(a.aliases), set(b.aliases)),
        ):
            if added := sorted(now - was):
                changes.append(Change(pid, f"{kind} added", "-", ", ".join(added)))
            if dropped := sorted(was - now):
                changes.append(Change(pid, f"{kind} dropped", ", ".join(dropped), "-"))
        for purpose in wanted:
            if (va := _verdict(a, purpose)) != (vb := _verdict(b, purpose)):
                changes.append(Change(pid, purpose.value, va, vb))
            elif (ga := _grade(a, purpose)) != (gb := _grade(b, purpose)):
                changes.append(Change(pid, f"{purpose.value} grade", ga, gb))
    return changes
