"""After any failure of the audit log nothing more is sent, written or signed: the cases a
review found (a failed checkpoint sync, a batch that fails while the crawl closes), under both
reactors and both ways of syncing. Each case runs in a process of its own (tests/scenarios/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).parent / "scenarios" / "audit_after_failure.py"
COMBINATIONS = [(r, s) for r in ("asyncio", "epoll") for s in ("helper", "thread")]


def run(scenario: str, reactor: str, syncer: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, str(SCENARIO), scenario, reactor, syncer],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# What each scenario must leave: the waiting requests refused, or the close done, and in
# neither case a run.end or a signature after the failure.
EXPECTED = {
    "checkpoint": {"results": {"A": "refused", "B": "refused"}, "signed": False},
    "closing": {"results": {"A": "refused", "closed": "yes"}, "run_end": False, "signed": False},
    "closing_lazy": {"results": {"closed": "yes"}, "run_end": False, "signed": False},
}


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
@pytest.mark.parametrize(("reactor", "syncer"), COMBINATIONS)
def test_nothing_is_sent_written_or_signed_after_a_failure(
    scenario: str, reactor: str, syncer: str
) -> None:
    # checkpoint: the batch syncs, the checkpoint's own fdatasync then fails.
    # closing: the last batch is in flight when the crawl closes, and fails.
    # closing_lazy: the same with the lazy sync of a record nothing waits on.
    outcome = run(scenario, reactor, syncer)
    assert outcome["failed"] is True
    for key, value in EXPECTED[scenario].items():
        assert outcome[key] == value, (key, outcome)
