"""Which platform's policy governs a host.

Registrable domains come from tldextract's *bundled* Public Suffix List snapshot (never a
download, never a cache directory; see psl.py). A policy claims either whole registrable
domains (with every subdomain: CDNs, short-link hosts) or single hosts on a shared domain.
Exact host claims win over domain claims.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polite_crawl.policy.loader import PolicyError
from polite_crawl.policy.psl import registrable_domain

if TYPE_CHECKING:
    from collections.abc import Iterable

    from polite_crawl.policy.loader import LoadedPolicy

_CACHE_LIMIT = 100_000


class Resolver:
    def __init__(self, policies: Iterable[LoadedPolicy]) -> None:
        self.by_id: dict[str, LoadedPolicy] = {}
        self._domains: dict[str, LoadedPolicy] = {}
        self._hosts: dict[str, LoadedPolicy] = {}
        self._cache: dict[str, LoadedPolicy | None] = {}
        for loaded in policies:
            self._add(loaded)

    def _add(self, loaded: LoadedPolicy) -> None:
        policy = loaded.policy
        for name in [policy.id, *policy.aliases]:
            if name in self.by_id:
                raise PolicyError(
                    f"{loaded.path}: field id: {name!r} is already used by {self.by_id[name].path}"
                )
            self.by_id[name] = loaded
        for domain in policy.domains:
            if registrable_domain(domain) != domain:
                raise PolicyError(
                    f"{loaded.path}: field domains: {domain!r} is not a registrable domain "
                    f"(that is {registrable_domain(domain)!r}); list single hosts under hosts"
                )
            self._claim(self._domains, domain, loaded, "domains")
        for host in policy.hosts:
            self._claim(self._hosts, host, loaded, "hosts")

    @staticmethod
    def _claim(
        table: dict[str, LoadedPolicy], name: str, loaded: LoadedPolicy, field: str
    ) -> None:
        other = table.get(name)
        if other is not None:
            raise PolicyError(
                f"{loaded.path}: field {field}: {name!r} is also claimed by "
                f"{other.path} (policy {other.id!r})"
            )
        table[name] = loaded

    def get(self, policy_id: str) -> LoadedPolicy | None:
        return self.by_id.get(policy_id)

    def resolve(self, host: str) -> LoadedPolicy | None:
        host = host.lower().rstrip(".")
        if host in self._cache:
            return self._cache[host]
        found = self._hosts.get(host)
        if found is None and self._domains:
            found = self._domains.get(registrable_domain(host))
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[host] = found
        return found
