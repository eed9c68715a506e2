"""The documented class path of polite_crawl's scheduler queue for fleets on scrapy-redis:

    SCHEDULER_QUEUE_CLASS = "polite_crawl.queues.HostQueue"

It hands out the shared queue's requests host by host, in turn (docs/fleet.md)."""

from __future__ import annotations

from polite_crawl.shell.fleet_queue import HostQueue

__all__ = ["HostQueue"]
