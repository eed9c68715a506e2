"""Reading a URL host as an address, and the ranges refused (core/addresses.py): every spelling
a browser or the C library reads as an internal address is one, and names, however numeric they
look, are left to DNS. The C library's own inet_aton is the reference for the IPv4 forms."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polite_crawl.core.addresses import (
    AddressPolicy,
    is_localhost_name,
    read_address,
    refusal_of,
)
from polite_crawl.core.checks.address import AddressCheck
from polite_crawl.core.context import RequestContext
from polite_crawl.core.decision import Outcome, Reason
from polite_crawl.core.purposes import Purpose

LOOPBACK = "127.0.0.1"


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", LOOPBACK),
        ("2130706433", LOOPBACK),  # decimal
        ("0177.0.0.1", LOOPBACK),  # octal
        ("0x7f.0.0.1", LOOPBACK),  # hex
        ("0X7F000001", LOOPBACK),
        ("017700000001", LOOPBACK),  # one octal number
        ("127.1", LOOPBACK),  # short forms: the last part fills the rest
        ("127.0.1", LOOPBACK),
        ("0x7f.1", LOOPBACK),
        ("0177.0x0.1", LOOPBACK),  # mixed
        ("00000000000000000177.0.0.1", LOOPBACK),  # leading zeros do not make it big
        ("127.0.0.1.", LOOPBACK),  # WHATWG drops a trailing dot
        ("127.0.0.1 trailing", LOOPBACK),  # inet_aton stops at white space
        ("%31%32%37.0.0.1", LOOPBACK),  # WHATWG percent-decodes the host
        ("\uff11\uff12\uff17.\uff10.\uff10.\uff11", LOOPBACK),  # full-width digits (IDNA)
        ("127\u30020\u30020\u30021", LOOPBACK),  # ideographic full stops
        ("127\uff0e0\uff0e0\uff0e1", LOOPBACK),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),  # WHATWG: an empty hex number is 0
        ("169.254.169.254", "169.254.169.254"),
        ("2852039166", "169.254.169.254"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("10.1", "10.0.0.1"),
        ("4294967295", "255.255.255.255"),
        ("::1", "::1"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("fe80::1%25eth0", "fe80::1"),  # a zone id does not change the range
        ("8.8.8.8", "8.8.8.8"),
    ],
)
def test_every_spelling_of_an_address_is_read(host: str, address: str) -> None:
    assert read_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    "host",
    [
        "site.test",
        "1.2.3.4.example.com",  # numeric labels, but a name
        "127.0.0.1.nip.io",  # a name (whose DNS answer is judged when resolved)
        "0x7f.example",
        "1.2.3.4.5",  # five parts: no parser reads an address
        "08.0.0.1",  # 8 is no octal digit
        "0x1g.0.0.1",
        "256.0.0.1",
        "1.2.3.256",
        "4294967296",  # more than 32 bits
        "0x100000000",
        "1.0x1000000",
        "9" * 5000,  # no int() of a huge string
        "\u0661\u0662\u0667.0.0.1",  # Arabic-Indic digits are digits to Python, not to parsers
        "",
        "[not-v6]",
        "::g",
    ],
)
def test_names_and_non_addresses_are_left_to_dns(host: str) -> None:
    assert read_address(host) is None


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("0.0.0.0", "this network"),
        ("10.0.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "shared address space (CGNAT)"),
        ("169.254.169.254", "link-local"),
        ("192.0.2.1", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("224.0.0.1", "multicast"),
        ("255.255.255.255", "broadcast"),
        ("240.0.0.1", "reserved"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
        ("::ffff:a9fe:a9fe", "IPv4-mapped link-local"),
        ("::127.0.0.1", "IPv4-compatible (deprecated)"),
        ("64:ff9b::10.0.0.1", "NAT64 private"),
        ("64:ff9b:1::1", "local-use NAT64"),
        ("2002:7f00:1::1", "6to4 loopback"),
        ("fd00::1", "unique-local"),
        ("fe80::1", "link-local"),
        ("fec0::1", "site-local (deprecated)"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "documentation"),
        ("3fff::1", "documentation"),
        ("100::1", "discard-only"),
        ("4000::1", "reserved"),
    ],
)
def test_internal_ranges_are_refused_by_name(address: str, kind: str) -> None:
    refusal = refusal_of(ipaddress.ip_address(address))
    assert refusal is not None
    assert refusal.kind == kind


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "93.184.216.34",
        "1.1.1.1",
        "100.128.0.1",  # just past CGNAT
        "172.32.0.1",  # just past 172.16/12
        "2606:4700::1111",
        "2a00:1450:4001::1",
        "::ffff:8.8.8.8",  # a public address, however spelled
        "64:ff9b::808:808",
        "2002:808:808::1",
    ],
)
def test_public_addresses_are_not_refused(address: str) -> None:
    assert refusal_of(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("host", "localhost"),
    [
        ("localhost", True),
        ("LOCALHOST.", True),
        ("app.localhost", True),
        ("localhost.example", False),
        ("notlocalhost", False),
    ],
)
def test_localhost_names(host: str, localhost: bool) -> None:
    assert is_localhost_name(host) is localhost


def test_an_opened_network_lets_its_addresses_through_and_no_others() -> None:
    policy = AddressPolicy(["10.0.0.0/8", "fd12::/16"])

    for host in ("10.1.2.3", "0x0a010203", "::ffff:10.1.2.3", "fd12::5"):
        refusal, opened = policy.judge_host(host)
        assert refusal is not None
        assert opened is not None, host
    refusal, opened = policy.judge_host("169.254.169.254")
    assert refusal is not None
    assert opened is None
    assert policy.judge_host("site.test") == (None, None)
    assert [r.kind for r in policy.refused([ipaddress.ip_address("127.0.0.1")])] == ["loopback"]
    assert policy.refused([ipaddress.ip_address("10.9.9.9")]) == []


def check(url: str, policy: AddressPolicy | None = None) -> tuple[Outcome, Reason, dict[str, str]]:
    ctx = RequestContext.build(url, frozenset({Purpose.RESEARCH}))
    result = AddressCheck(policy or AddressPolicy()).evaluate(ctx)
    return result.outcome, result.reason, dict(result.evidence)


def test_the_check_refuses_with_evidence_and_names_the_opt_in() -> None:
    assert check("http://0x7f.1:8080/x") == (
        Outcome.DENY,
        Reason.INTERNAL_ADDRESS,
        {"host": "0x7f.1", "address": "127.0.0.1", "range": "127.0.0.0/8", "kind": "loopback"},
    )
    assert check("http:///x")[:2] == (Outcome.DENY, Reason.INTERNAL_ADDRESS)  # Twisted: 0.0.0.0
    assert check("http://localhost/")[2]["kind"] == "loopback (localhost name)"
    assert check("https://site.test/") == (Outcome.PASS, Reason.ALLOWED, {})
    outcome, _, evidence = check("http://127.0.0.1/", AddressPolicy(["127.0.0.0/8"]))
    assert outcome is Outcome.PASS
    assert evidence["allowed_by"] == "127.0.0.0/8"


# --- properties --------------------------------------------------------------------------------

IPV4 = st.integers(min_value=0, max_value=2**32 - 1)


def _spell(value: int, base: int) -> str:
    if base == 16:
        return hex(value)
    if base == 8:
        return "0" + oct(value)[2:]
    return str(value)


@given(
    IPV4,
    st.integers(min_value=1, max_value=4),
    st.lists(st.sampled_from([8, 10, 16]), min_size=4, max_size=4),
)
def test_every_short_and_mixed_form_reads_as_its_address(
    value: int, parts: int, bases: list[int]
) -> None:
    octets = list(value.to_bytes(4, "big"))
    head = octets[: parts - 1]
    last = int.from_bytes(bytes(octets[parts - 1 :]), "big")
    text = ".".join(_spell(n, b) for n, b in zip([*head, last], bases[:parts], strict=True))

    assert read_address(text) == ipaddress.IPv4Address(value)
    assert read_address(text.upper()) == ipaddress.IPv4Address(value)


@given(st.text(alphabet="0123456789abcdefxX. ", max_size=40))
def test_what_the_c_library_reads_as_an_address_is_read_the_same(text: str) -> None:
    try:
        expected = ipaddress.IPv4Address(socket.inet_aton(text))
    except (OSError, ValueError):
        return
    assert read_address(text) == expected


@given(st.text(max_size=100))
def test_any_host_text_is_read_without_error(text: str) -> None:
    read_address(text)
    AddressPolicy().judge_host(text)


@given(
    st.lists(st.from_regex(r"[0-9]{1,3}", fullmatch=True), min_size=1, max_size=4),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
)
def test_a_name_ending_in_a_letter_label_is_a_name(labels: list[str], tld: str) -> None:
    assert read_address(".".join([*labels, tld])) is None
