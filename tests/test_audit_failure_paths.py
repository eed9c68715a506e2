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


@pytest.mark.parametrize(("reactor", "syncer"), COMBINATIONS)
def test_a_failed_checkpoint_sync_refuses_the_batch_and_signs_nothing(
    reactor: str, syncer: str
) -> None:
    outcome = run("checkpoint", reactor, syncer)
    assert outcome["failed"] is True
    assert outcome["results"] == {"A": "refused", "B": "refused"}
    assert outcome["signed"] is False


@pytest.mark.parametrize(("reactor", "syncer"), COMBINATIONS)
def test_a_batch_failing_while_the_crawl_closes_leaves_no_run_end_and_no_signature(
    reactor: str, syncer: str
) -> None:
    outcome = run("closing", reactor, syncer)
    assert outcome["failed"] is True
    assert outcome["results"] == {"closed": "yes"}
    assert outcome["run_end"] is False
    assert outcome["signed"] is False
