"""The wire pacer forgets idle hosts (a broad crawl meets millions), and forgetting one never
shortens a gap: a host met again waits a whole delay from then."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polite_crawl.shell.pacing import WirePacer

if TYPE_CHECKING:
    from collections.abc import Coroutine


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(coro: Coroutine[Any, Any, None]) -> None:
    """Drive a coroutine that must finish without waiting (its host's turn is free)."""
    try:
        coro.send(None)
    except StopIteration:
        return
    raise AssertionError("the pacer made the request wait")


def test_idle_hosts_are_forgotten_and_memory_stays_bounded() -> None:
    clock = Clock()
    pacer = WirePacer(clock, keep=64)
    for i in range(10_000):
        host = f"h{i}.test"
        run(pacer.acquire(host, 0.0))
        pacer.release(host)
        pacer.learn(host, 1.0 if i % 2 else 0.0)  # e.g. its robots.txt's Crawl-delay
        clock.now += 0.01
    assert len(pacer) <= 256


def test_a_host_within_its_delay_is_kept() -> None:
    clock = Clock()
    pacer = WirePacer(clock, keep=4)
    run(pacer.acquire("slow.test", 0.0))
    pacer.release("slow.test")
    pacer.learn("slow.test", 60.0)
    for i in range(100):
        run(pacer.acquire(f"h{i}.test", 0.0))
        pacer.release(f"h{i}.test")
    assert pacer.delay_of("slow.test") == 60.0  # still remembered: its delay has not run out
    clock.now += 61
    for i in range(100, 200):
        run(pacer.acquire(f"h{i}.test", 0.0))
        pacer.release(f"h{i}.test")
    assert pacer.delay_of("slow.test") == 0.0  # forgotten once idle past its delay
