"""The add-on's CPU cost, measured so that the machine's drift cancels out.

    .venv/bin/python -m benchmarks.crawl_cpu [--rounds 5] [--hosts 20] [--pages 150]
        [--page-kib 0] [--durability fsync|none] [--aa] [--gc-freeze]

Each round starts both crawls of benchmarks/crawl_overhead.py (plain Scrapy with ROBOTSTXT_OBEY,
Scrapy with polite_crawl.Addon) at the same time, both pinned to CPU 0, with the mock web on the
other CPUs. They share the same core at the same moments, so whatever slows the machine slows
both alike; the figure is the median over rounds of the ratio of their CPU seconds (spider open
to close). On a virtual machine whose speed drifts by a third between two sequential runs, the
rounds of this ratio stay within about 2 % of each other. It measures work, not wall time: the
wall-time figure is benchmarks/crawl_overhead.py's. Linux only (CPU affinity). Results:
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

from benchmarks.cpuclock import REACTOR_STAT
from benchmarks.cpuclock import STAT as CPU_STAT
from benchmarks.crawl_overhead import arm_settings, build_web, use_this_checkout
from polite_crawl.testing.crawl import prepare_crawl, start_crawl

CRAWL_CPU = 0
GC_FREEZE = "benchmarks.gcfreeze.GcFreeze"


def _pin_to_crawl_cpu() -> None:
    os.sched_setaffinity(0, {CRAWL_CPU})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--pages", type=int, default=150)
    parser.add_argument("--page-kib", type=int, default=0, help="as in crawl_overhead")
    parser.add_argument("--durability", choices=["fsync", "none"], default="fsync")
    parser.add_argument(
        "--aa", action="store_true", help="A/A: plain Scrapy in both arms (the noise floor)"
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="both arms freeze the objects alive when the spider opens (benchmarks/gcfreeze.py)",
    )
    args = parser.parse_args()
    others = os.sched_getaffinity(0) - {CRAWL_CPU}
    if not others:
        raise SystemExit("needs at least two CPUs: one for both crawls, one for the mock web")
    os.sched_setaffinity(0, others)  # the mock web's server runs in this process
    use_this_checkout()
    starts = [f"http://site{h}.test/p0" for h in range(args.hosts)]
    ratios: list[float] = []
    reactor_ratios: list[float] = []
    whole_ratios: list[float] = []
    with (
        build_web(args.hosts, args.pages, args.page_kib) as web,
        tempfile.TemporaryDirectory() as tmp,
    ):
        for i in range(args.rounds):
            running = []
            for arm, polite in enumerate((False, not args.aa)):
                settings = arm_settings(polite, args.durability)
                if args.gc_freeze:
                    settings["EXTENSIONS"] = {**settings["EXTENSIONS"], GC_FREEZE: 0}
                prepared = prepare_crawl(web, Path(tmp) / f"round{i}-arm{arm}", starts, settings)
                proc = start_crawl(prepared, preexec_fn=_pin_to_crawl_cpu)
                running.append((prepared.workdir, proc))
            cpu, reactor, whole = [], [], []
            for workdir, proc in running:
                # wait4: the process's own rusage, with the audit sync helper it reaped
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = os.waitstatus_to_exitcode(status)
                if proc.returncode != 0:
                    raise SystemExit(f"crawl failed: see {workdir}")
                stats = json.loads((workdir / "stats.json").read_text())["stats"]
                cpu.append(float(stats[CPU_STAT]))
                reactor.append(float(stats[REACTOR_STAT]))
                whole.append(usage.ru_utime + usage.ru_stime)
            ratios.append(cpu[1] / cpu[0])
            reactor_ratios.append(reactor[1] / reactor[0])
            whole_ratios.append(whole[1] / whole[0])
            print(
                f"round {i + 1}: CPU seconds ROBOTSTXT_OBEY {cpu[0]:.2f}, polite_crawl "
                f"{cpu[1]:.2f}, ratio {ratios[-1]:.3f} (reactor thread {reactor[0]:.2f} / "
                f"{reactor[1]:.2f}, {reactor_ratios[-1]:.3f}), load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    print(
        f"pages per crawl: {args.hosts * args.pages}, rounds: {args.rounds}, "
        f"page size: {f'{args.page_kib} KiB' if args.page_kib else 'links only'}, "
        f"audit durability: {args.durability}"
        + (", A/A (plain Scrapy in both arms)" if args.aa else "")
        + (", gc.freeze() at spider open in both arms" if args.gc_freeze else "")
    )
    print(
        f"whole-process CPU ratio (start-up and sync helper included): median "
        f"{statistics.median(whole_ratios):.3f} "
        f"(rounds {min(whole_ratios):.3f}-{max(whole_ratios):.3f})"
    )
    print(
        f"reactor-thread CPU ratio: median {statistics.median(reactor_ratios):.3f} "
        f"(rounds {min(reactor_ratios):.3f}-{max(reactor_ratios):.3f})"
    )
    print(
        f"CPU ratio polite_crawl / ROBOTSTXT_OBEY: median {statistics.median(ratios):.3f} "
        f"(rounds {min(ratios):.3f}-{max(ratios):.3f})"
    )


if __name__ == "__main__":
    main()
