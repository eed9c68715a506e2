"""Which hosts and addresses a crawl must not reach: loopback, private, link-local, CGNAT,
multicast, reserved, documentation and unique-local ranges (the cloud metadata service at
169.254.169.254 among them), unless the operator opened a network for an intranet crawl.

A URL host is read as an address the way the most permissive client that could send the request
would read it: the WHATWG URL parser of browsers (percent-decoding, full-width digits and
ideographic dots, a trailing dot, one to four parts in decimal, octal or hex) and the C library's
`inet_aton`, which `getaddrinfo` and `gethostbyname` use for numeric hosts (`2130706433`,
`0177.0.0.1`, `0x7f.1`, `127.1`). Scrapy hands the host string to the resolver unchanged, so a
form any of them reads as an address is one. A host none of them reads is a name: its DNS answer
is judged when Scrapy resolves it (polite_crawl/shell/dnsguard.py).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import unquote

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _nets(*rows: tuple[str, str]) -> tuple[tuple[Network, str], ...]:
    return tuple((ipaddress.ip_network(net), kind) for net, kind in rows)


# The refused IPv4 ranges (IANA special-purpose registry, RFC 6890 and successors) with the name
# the evidence gives them. First match wins: broadcast before the reserved block holding it.
IPV4_REFUSED = _nets(
    ("0.0.0.0/8", "this network"),  # Linux connects 0.0.0.0 to the local host
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared address space (CGNAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved"),
)

# IPv6 forms that carry an IPv4 address the connection may end up at: judged by that address.
IPV6_EMBEDDING = _nets(
    ("::ffff:0:0/96", "IPv4-mapped"),
    ("64:ff9b::/96", "NAT64"),
    ("2002::/16", "6to4"),
)

IPV6_REFUSED = _nets(
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/96", "IPv4-compatible (deprecated)"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("::/8", "reserved"),
    ("100::/64", "discard-only"),
    ("2001:db8::/32", "documentation"),
    ("2001::/23", "IETF protocol assignments"),
    ("3fff::/20", "documentation"),
    ("fc00::/7", "unique-local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated)"),
    ("ff00::/8", "multicast"),
    # Everything outside global unicast is unassigned or special: nothing a web site uses.
    ("2000::/3", ""),  # (the exception: global unicast is not refused)
    ("::/0", "reserved"),
)

_LOCALHOST_V4 = ipaddress.IPv4Address("127.0.0.1")
_LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")
_ANY_V4 = ipaddress.IPv4Address("0.0.0.0")
_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")


class Refusal(NamedTuple):
    """Why an address is internal: the range it falls in and its name; `embedded` is the IPv4
    address an IPv6 form carries when that is what was judged."""

    address: Address
    range: Network
    kind: str
    embedded: ipaddress.IPv4Address | None = None

    def evidence(self, host: str) -> dict[str, str]:
        out = {"host": host, "address": str(self.address)}
        if self.embedded is not None:
            out["embedded"] = str(self.embedded)
        out["range"] = str(self.range)
        out["kind"] = self.kind
        return out


def refusal_of(address: Address) -> Refusal | None:
    """The refused range address falls in, or None for a public address."""
    if isinstance(address, ipaddress.IPv4Address):
        return _v4_refusal(address)
    plain = address if address.scope_id is None else ipaddress.IPv6Address(address.packed)
    for net, kind in IPV6_EMBEDDING:
        if plain in net:
            inner = _embedded(plain, kind)
            found = _v4_refusal(inner)
            if found is None:
                return None
            return Refusal(address, found.range, f"{kind} {found.kind}", inner)
    for net, kind in IPV6_REFUSED:
        if plain in net:
            return Refusal(address, net, kind) if kind else None
    return None  # unreachable: ::/0 matches every address


def _v4_refusal(address: ipaddress.IPv4Address) -> Refusal | None:
    for net, kind in IPV4_REFUSED:
        if address in net:
            return Refusal(address, net, kind)
    return None


def _embedded(address: ipaddress.IPv6Address, kind: str) -> ipaddress.IPv4Address:
    if kind == "6to4":
        return ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF)
    return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)


# --- reading a URL host ------------------------------------------------------------------------

# IDNA (and so WHATWG's host parser and Python's idna codec, which w3lib applies to every Scrapy
# URL) maps these to ".".
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_HEX = re.compile(r"0[xX]([0-9A-Fa-f]*)")
_OCT = re.compile(r"0([0-7]+)")
_DEC = re.compile(r"[1-9][0-9]*|0")
# RFC 6761 §6.3: localhost names are loopback, whatever DNS says; browsers never look them up.
LOCALHOST = "localhost"


def normalise(host: str) -> str:
    """The host as a WHATWG parser sees it before telling names from addresses."""
    text = unicodedata.normalize("NFKC", unquote(host)).translate(_DOTS)
    return text.strip().lower()


def read_address(host: str) -> Address | None:
    """The address host denotes to some client, or None if it is a name (or nothing any client
    reads as an address: a lookup of it goes to DNS, whose answer is judged then)."""
    text = normalise(host)
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:  # zone ids ("fe80::1%eth0") do not change the range
            return ipaddress.IPv6Address(text.split("%", 1)[0])
        except ValueError:
            return None
    candidates = [text]
    if text.endswith("."):  # WHATWG drops one trailing dot
        candidates.append(text[:-1])
    if text and text.split()[0] != text:  # inet_aton stops at white space
        candidates.append(text.split()[0])
    for candidate in candidates:
        found = _inet_aton(candidate)
        if found is not None:
            return found
    return None


def _inet_aton(text: str) -> ipaddress.IPv4Address | None:
    # One to four parts, each decimal, octal (leading 0) or hex (0x, possibly empty); the last
    # part fills the remaining bytes (so `127.1` is 127.0.0.1 and `2130706433` a whole address).
    # The same grammar for WHATWG's IPv4 parser and glibc's inet_aton.
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        number = _number(part)
        if number is None:
            return None
        numbers.append(number)
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def _number(part: str) -> int | None:
    # Digits are ASCII only (str.isdigit would take other scripts' digits, which no parser
    # reads as numbers); leading zeros are dropped before the size check, since
    # `00000000177` is still 127 to inet_aton.
    match = _HEX.fullmatch(part)
    if match:
        digits, base, most = match.group(1).lstrip("0"), 16, 8
    elif (match := _OCT.fullmatch(part)) is not None:
        digits, base, most = match.group(1).lstrip("0"), 8, 11
    elif _DEC.fullmatch(part):
        digits, base, most = part, 10, 10
    else:
        return None
    if len(digits) > most:
        return None  # more than 32 bits: no parser reads it as an address
    return int(digits, base) if digits else 0


def is_localhost_name(host: str) -> bool:
    name = normalise(host).rstrip(".")
    return name == LOCALHOST or name.endswith("." + LOCALHOST)


# --- the operator's opt-in ---------------------------------------------------------------------


class AddressPolicy:
    """The refused ranges, less the networks the operator opened (POLITE_CRAWL_ALLOW_INTERNAL_
    NETWORKS). Shared by the gate's check (URL hosts) and the DNS guard (resolved names)."""

    def __init__(self, allowed: Iterable[str | Network] = ()) -> None:
        self.allowed: tuple[Network, ...] = tuple(ipaddress.ip_network(n) for n in allowed)

    def opened_by(self, refusal: Refusal) -> Network | None:
        """The allowed network that lets this internal address through, if any. An IPv4 address
        embedded in IPv6 is let through by a network holding either form."""
        for net in self.allowed:
            if refusal.address.version == net.version and refusal.address in net:
                return net
            if refusal.embedded is not None and net.version == 4 and refusal.embedded in net:
                return net
        return None

    def judge_host(self, host: str) -> tuple[Refusal | None, Network | None]:
        """(why host is internal, the network that opens it): (None, None) for a public address
        or a name DNS must answer; (r, None) refused; (r, net) allowed by the opt-in."""
        address = read_address(host)
        if address is not None:
            refusal = refusal_of(address)
        elif is_localhost_name(host):
            refusal = Refusal(_LOCALHOST_V4, _LOOPBACK_V4, "loopback (localhost name)")
        elif not normalise(host):
            # No host at all: Twisted looks up "", which gethostbyname answers 0.0.0.0, and a
            # connection there reaches this machine.
            refusal = Refusal(_ANY_V4, _THIS_NETWORK, "this network (no host)")
        else:
            return None, None
        if refusal is None:
            return None, None
        return refusal, self.opened_by(refusal)

    def refused(self, addresses: Sequence[Address]) -> list[Refusal]:
        """The addresses of a DNS answer that must not be connected to."""
        out = []
        for address in addresses:
            refusal = refusal_of(address)
            if refusal is not None and self.opened_by(refusal) is None:
                out.append(refusal)
        return out
