"""Per-crawl decision counts and the one-line summary logged when the spider closes."""

from __future__ import annotations

from collections import Counter


class DecisionCounts:
    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def add(self, key: str) -> None:
        self._counts[key] += 1

    def as_dict(self) -> dict[str, int]:
        return dict(self._counts)

    def summary(self) -> str:
        allowed = self._counts["allow"]
        denied = self._by_prefix("deny/")
        would = self._by_prefix("report/")
        discarded = self._by_prefix("discard/")
        text = f"{allowed} allowed, {sum(denied.values())} denied"
        if denied:
            text += " (" + ", ".join(f"{k}: {v}" for k, v in sorted(denied.items())) + ")"
        if discarded:
            text += (
                f", {sum(discarded.values())} discarded after the fetch ("
                + ", ".join(f"{k}: {v}" for k, v in sorted(discarded.items()))
                + ")"
            )
        if would:
            text += "; REPORT-ONLY MODE, let through although denied: " + ", ".join(
                f"{k}: {v}" for k, v in sorted(would.items())
            )
        return text

    def _by_prefix(self, prefix: str) -> dict[str, int]:
        return {k[len(prefix) :]: v for k, v in self._counts.items() if k.startswith(prefix)}
