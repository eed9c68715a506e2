"""Names whose DNS answer is an internal address, when Scrapy resolves names itself.

The gate refuses internal addresses written in a URL (core/checks/address.py), but a name is
only known to be internal once it is resolved, after the gate: an intranet name, or a public
name its owner points at 127.0.0.1 or 169.254.169.254. This wraps the reactor's name resolver
(whichever one the project chose: CachingThreadedResolver, CachingHostnameResolver, Twisted's
own) so that internal answers are dropped before a connection is made; a name with no address
left fails as a DNS lookup error, like a name that does not exist.

Why not the TWISTED_DNS_RESOLVER (DNS_RESOLVER) setting: Scrapy builds the resolver from the
process's settings, before and apart from any crawler, so an add-on's update_settings never
reaches it. Instead the wrapper is put in place when a request is about to be sent (the wire
handler, wire.py, calls the crawl's guard: the reactor is running, Scrapy's resolver is
installed), and put back if anything replaced it. A direct call, not a signal handler: a
receiver of request_reached_downloader cost every request a signal dispatch (#21).

Proxies: a request sent through a proxy (`meta["proxy"]`, set by HttpProxyMiddleware from
`http_proxy`/`https_proxy` or by spider code) makes only the proxy's name be resolved here; the
proxy resolves the target's name, and this wrapper cannot see its answer. The proxy's own host
is never refused (a local proxy on 127.0.0.1 is the usual case); every host name a request used
as its proxy is noted right before the request is sent, after every downloader middleware
(HttpProxyMiddleware included) has run and before its connection is made.
"""

from __future__ import annotations

import ipaddress
import logging
import weakref
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.url import add_http_if_no_scheme
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from zope.interface import implementer  # type: ignore[import-untyped]

from polite_crawl.core.addresses import AddressPolicy
from polite_crawl.settings import from_mapping, setting_name

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scrapy import Request
    from scrapy.crawler import Crawler
    from twisted.internet.interfaces import IAddress

    # typing.Self requires Python 3.11
    from typing_extensions import Self

    from polite_crawl.core.addresses import Address, Refusal

logger = logging.getLogger(__name__)

STAT = "polite_crawl/dns_refused"
_MAX_PROXIES = 100_000  # proxy names remembered (rotating proxies); then the oldest are forgotten


class _Crawl:
    """One crawl's view: its policy, and where its refusals are counted and logged."""

    def __init__(self, crawler: Crawler, policy: AddressPolicy) -> None:
        self.crawler = crawler
        self.policy = policy
        self._warned: set[str] = set()

    def refused(self, host: str, refusals: list[Refusal]) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(STAT)
        first = refusals[0]
        level = logging.DEBUG if host in self._warned else logging.WARNING
        self._warned.add(host)
        logger.log(
            level,
            "polite_crawl: refused the DNS answer for %(host)s: %(address)s is %(kind)s "
            "(%(range)s); the request fails as a DNS lookup error. For an intranet crawl, add "
            "the network to %(setting)s.",
            {
                "host": host,
                "address": ", ".join(str(r.address) for r in refusals),
                "kind": first.kind,
                "range": first.range,
                "setting": setting_name("allow_internal_networks"),
            },
        )


class Guard:
    """The process's one wrapper state (a reactor has one resolver): the crawls running in it
    and the proxy names their requests use. An answer is refused if any running crawl refuses
    it: a lookup cannot be told apart by crawl, so the strictest wins."""

    def __init__(self) -> None:
        self.crawls: list[_Crawl] = []
        self.proxies: dict[str, None] = {}  # insertion-ordered: the oldest go first
        self._proxy_hosts: dict[str, str] = {}  # a proxy setting -> its host, parsed once
        self.installed: GuardedResolver | None = None

    def ensure_installed(self, reactor: Any) -> None:
        current = reactor.nameResolver
        if current is self.installed:
            return
        self.installed = GuardedResolver(current, self)
        reactor.installNameResolver(self.installed)
        # Named in the log so an operator (and the tests) can see which resolver is guarded:
        # one installed with installResolver (CachingThreadedResolver) sits in Twisted's adapter.
        inner = getattr(current, "_simpleResolver", current)
        logger.info(
            "polite_crawl: DNS answers are checked for internal addresses (resolver: %(name)s)",
            {"name": type(inner).__qualname__},
        )

    def note_proxy(self, proxy: str) -> None:
        # Called for every request sent through a proxy, and a crawl has a few proxies: their
        # hosts are parsed once (#21), the bounded cache emptied when it fills.
        host = self._proxy_hosts.get(proxy)
        if host is None:
            if len(self._proxy_hosts) >= _MAX_PROXIES:
                self._proxy_hosts.clear()
            host = (urlsplit(add_http_if_no_scheme(proxy)).hostname or "").lower()
            self._proxy_hosts[proxy] = host
        if host and host not in self.proxies:
            if len(self.proxies) >= _MAX_PROXIES:
                del self.proxies[next(iter(self.proxies))]
            self.proxies[host] = None

    def judge(self, host: str, addresses: Sequence[Address]) -> set[Address]:
        """The addresses of host's answer that no running crawl may connect to."""
        refused: set[Address] = set()
        for crawl in self.crawls:
            refusals = crawl.policy.refused(addresses)
            if refusals:
                crawl.refused(host, refusals)
                refused.update(r.address for r in refusals)
        return refused


GUARD = Guard()


# Twisted's interfaces are zope Interfaces, which mypy reads as classes with methods missing
# `self`: the objects that provide them are typed Any here.
@implementer(IHostnameResolver)
class GuardedResolver:
    def __init__(self, inner: Any, guard: Guard) -> None:
        self.inner = inner
        self.guard = guard

    def resolveHostName(
        self,
        resolutionReceiver: Any,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> Any:
        name = hostName.decode("idna") if isinstance(hostName, bytes) else hostName
        if self.guard.crawls and name.lower() not in self.guard.proxies:
            resolutionReceiver = _Filter(resolutionReceiver, name, self.guard)
        return self.inner.resolveHostName(
            resolutionReceiver, hostName, portNumber, addressTypes, transportSemantics
        )


@implementer(IResolutionReceiver)
class _Filter:
    """Collects the answer and passes on only the addresses every crawl may reach. The
    connection starts once the resolution is complete, so holding the addresses until then
    costs nothing."""

    def __init__(self, receiver: Any, host: str, guard: Guard) -> None:
        self.receiver = receiver
        self.host = host
        self.guard = guard
        self.addresses: list[IAddress] = []

    def resolutionBegan(self, resolution: Any) -> None:
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: IAddress) -> None:
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        read = [_read(a) for a in self.addresses]
        # An answer that is not an IP address (no such thing from a TCP lookup) is not passed on.
        known = [a for a in read if a is not None]
        refused = self.guard.judge(self.host, known)
        for address, parsed in zip(self.addresses, read, strict=True):
            if parsed is not None and parsed not in refused:
                self.receiver.addressResolved(address)
        self.receiver.resolutionComplete()


def _read(address: IAddress) -> Address | None:
    try:
        return ipaddress.ip_address(str(getattr(address, "host", "")).split("%", 1)[0])
    except ValueError:
        return None


# Each crawl's guard, for its wire handler (wire.py).
_GUARDS: weakref.WeakKeyDictionary[Crawler, DnsGuard] = weakref.WeakKeyDictionary()


def guard_of(crawler: Crawler) -> DnsGuard | None:
    """The crawl's guard (None: the extension is off, e.g. no Twisted reactor)."""
    return _GUARDS.get(crawler)


class DnsGuard:
    """The Scrapy extension the add-on enables: registers the crawl with the process's guard;
    the wire handler calls before_send for every request, which installs the wrapper and notes
    the proxy the request uses."""

    def __init__(self, crawler: Crawler) -> None:
        settings = from_mapping(crawler.settings)
        if not settings.enabled:
            raise NotConfigured("POLITE_CRAWL_ENABLED is False")
        if not crawler.settings.getbool("TWISTED_REACTOR_ENABLED", True):
            # Without a reactor Scrapy downloads with aiohttp, whose resolver this cannot wrap.
            logger.warning(
                "polite_crawl: TWISTED_REACTOR_ENABLED is False; host names are resolved by the "
                "download handler and their answers are not checked for internal addresses "
                "(addresses written in URLs still are)"
            )
            raise NotConfigured("no Twisted reactor")
        self.crawl = _Crawl(crawler, AddressPolicy(settings.allow_internal_networks))
        GUARD.crawls.append(self.crawl)
        _GUARDS[crawler] = self
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def before_send(self, request: Request) -> None:
        from twisted.internet import reactor

        GUARD.ensure_installed(reactor)
        proxy = request.meta.get("proxy")
        if proxy:
            GUARD.note_proxy(str(proxy))

    def engine_stopped(self) -> None:
        if self.crawl in GUARD.crawls:
            GUARD.crawls.remove(self.crawl)
