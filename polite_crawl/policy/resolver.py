"""Which platform's policy governs a host.

Registrable domains come from tldextract's *bundled* Public Suffix List snapshot (never a
download, never a cache directory; see psl.py). A policy claims either whole registrable
domains (with every subdomain: CDNs, short-link hosts) or single hosts on a shared domain.
Exact host claims win over domain claims.

Claims are exclusive: no two policies may claim the same host, the same domain, or a host inside
another policy's domain. A host claim wins over a domain claim, so a policy that could name a
host inside another platform's domain would take that host over, and the platform's own log
would not show what was fetched from it. The only such carve-outs are the ones the project ships
(`yt3.ggpht.com` is YouTube's inside Google's `ggpht.com`); a user's file that replaces a
shipped policy by id keeps its shipped carve-outs.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from polite_crawl.policy.loader import PolicyError, bundled_dir, load_dir
from polite_crawl.policy.psl import registrable_domain

if TYPE_CHECKING:
    from collections.abc import Iterable

    from polite_crawl.policy.loader import LoadedPolicy

_CACHE_LIMIT = 100_000

CarveOut = tuple[str, str, str]  # (host, id of the policy claiming it, id of its domain's)


@functools.cache
def shipped_carve_outs() -> frozenset[CarveOut]:
    """The hosts a shipped policy claims inside another shipped policy's domain."""
    shipped = load_dir(bundled_dir())
    owners = {domain: loaded.id for loaded in shipped for domain in loaded.policy.domains}
    return frozenset(
        (host, loaded.id, owner)
        for loaded in shipped
        for host in loaded.policy.hosts
        if (owner := owners.get(registrable_domain(host))) not in (None, loaded.id)
    )


class Resolver:
    def __init__(
        self, policies: Iterable[LoadedPolicy], *, carve_outs: frozenset[CarveOut] | None = None
    ) -> None:
        """carve_outs: the hosts a policy may claim inside another's domain (default: the
        shipped ones)."""
        self.by_id: dict[str, LoadedPolicy] = {}
        self._domains: dict[str, LoadedPolicy] = {}
        self._hosts: dict[str, LoadedPolicy] = {}
        self._cache: dict[str, LoadedPolicy | None] = {}
        for loaded in policies:
            self._add(loaded)
        self._check_overlaps(shipped_carve_outs() if carve_outs is None else carve_outs)

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

    def _check_overlaps(self, carve_outs: frozenset[CarveOut]) -> None:
        for host, holder in self._hosts.items():
            domain = registrable_domain(host)
            owner = self._domains.get(domain)
            if owner is None or owner.id == holder.id or (host, holder.id, owner.id) in carve_outs:
                continue
            # Name the file that made the claim no shipped policy makes first.
            if _shipped(holder) and not _shipped(owner):
                raise PolicyError(
                    f"{owner.path}: field domains: {domain!r} holds {host!r}, which is claimed "
                    f"by {holder.path} (policy {holder.id!r}); claims are exclusive"
                )
            raise PolicyError(
                f"{holder.path}: field hosts: {host!r} is in the domain {domain!r}, which is "
                f"claimed by {owner.path} (policy {owner.id!r}); a policy may not take hosts "
                "from another platform's domain"
            )

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


def _shipped(loaded: LoadedPolicy) -> bool:
    return loaded.path.parent.resolve() == bundled_dir().resolve()
