"""The guard itself; importable both from sitecustomize (children) and conftest (pytest).

NETGUARD_HOSTS="name=127.0.0.1,other=::1" makes the guard answer those names with those
loopback addresses, as DNS would: a test's stand-in for an intranet name (or a public name whose
owner points it inside). Only loopback answers are accepted, so nothing can leave loopback.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _test_hosts() -> dict[str, str]:
    hosts = {}
    for entry in filter(None, os.environ.get("NETGUARD_HOSTS", "").split(",")):
        name, _, address = entry.partition("=")
        if not ipaddress.ip_address(address).is_loopback:
            raise NetworkGuardError(
                f"network guard: NETGUARD_HOSTS answer {address!r} is not loopback"
            )
        hosts[name.strip().lower()] = address
    return hosts


class NetworkGuardError(OSError):
    pass


def _is_loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def install() -> None:
    if getattr(socket, "_polite_guard", False):
        return
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo
    real_gethostbyname = socket.gethostbyname
    real_gethostbyname_ex = socket.gethostbyname_ex
    hosts = _test_hosts()

    def answer(host: Any) -> Any:
        if isinstance(host, (str, bytes)) and hosts:
            text = host.decode("ascii", "replace") if isinstance(host, bytes) else host
            return hosts.get(text.lower().rstrip("."), host)
        return host

    def check(address: Any) -> None:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            raise NetworkGuardError(f"network guard: connection to {address!r} refused")

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            check(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        host = answer(host)
        if host is not None and not _is_loopback(host):
            raise NetworkGuardError(f"network guard: name lookup of {host!r} refused")
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host: str) -> str:
        host = answer(host)
        if not _is_loopback(host):
            raise NetworkGuardError(f"network guard: name lookup of {host!r} refused")
        return real_gethostbyname(host)

    def gethostbyname_ex(host: str) -> tuple[str, list[str], list[str]]:
        host = answer(host)
        if not _is_loopback(host):
            raise NetworkGuardError(f"network guard: name lookup of {host!r} refused")
        return real_gethostbyname_ex(host)

    socket.gethostbyname = gethostbyname
    socket.gethostbyname_ex = gethostbyname_ex
    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = getaddrinfo
    socket._polite_guard = True  # type: ignore[attr-defined]
