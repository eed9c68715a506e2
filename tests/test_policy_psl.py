"""Our Public Suffix List walk (polite_crawl/policy/psl.py) against tldextract's own, which it
replaces in the crawl to keep tldextract's 18,000-node trie out of every garbage collection."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import idna
from hypothesis import given
from hypothesis import strategies as st

from polite_crawl.policy import psl

if TYPE_CHECKING:
    import pytest

_REFERENCE = psl.snapshot_extractor()
RULES, _ = psl._tables()


def reference(host: str) -> str:
    """What the resolver computed with tldextract before."""
    return str(_REFERENCE(host).top_domain_under_public_suffix or host)


def _punycode(name: str) -> str | None:
    try:
        return ".".join(
            label if label.isascii() else idna.encode(label).decode() for label in name.split(".")
        )
    except idna.IDNAError:
        return None


def _hosts_around(rule: str) -> list[str]:
    # A wildcard stands for any label; an exception rule names a registrable domain.
    base = rule.replace("*", "w").lstrip("!")
    hosts = [base, f"x.{base}", f"a.b.{base}", f"WWW.{base.upper()}"]
    puny = _punycode(base)
    if puny is not None:
        hosts += [puny, f"y.{puny}"]
    return hosts


def test_every_rule_and_its_subdomains_resolve_as_tldextract_does() -> None:
    hosts = [h for rule in sorted(RULES) for h in _hosts_around(rule)]
    assert len(hosts) > 30_000
    wrong = [(h, psl.registrable_domain(h), reference(h)) for h in hosts]
    wrong = [w for w in wrong if w[1] != w[2]]
    assert wrong == []


ODD_HOSTS = [
    "",
    ".",
    "localhost",
    "127.0.0.1",
    "::1",
    "[::1]",
    "[2001:db8::1]",
    "a..com",
    ".co.uk",
    "co.uk",
    "www.example.com.",
    "example.com\u3002",
    "www\uff0eexample\uff61co.uk",
    "xn--zz.com",
    "xn--.com",
    "foo.xn--p1ai",
    "www.city.kawasaki.jp",
    "a.b.kawasaki.jp",
    "kawasaki.jp",
    "user@www.example.com:8080",
    "256.1.1.1",
    "1.2.3.4.com",
]


def test_odd_hosts_resolve_as_tldextract_does() -> None:
    for host in ODD_HOSTS:
        assert psl.registrable_domain(host) == reference(host), host


# Every 15th label of the rules (about 400, ASCII and not), and labels that steer the walk.
_RULE_LABELS = sorted({label for rule in RULES for label in rule.split(".")})[::15]
_LABELS = [*_RULE_LABELS, "w", "xn--p1ai", "XN--P1AI", "", "example", "*", "!city", "kawasaki"]


@given(st.lists(st.sampled_from(_LABELS), min_size=1, max_size=5))
def test_generated_hosts_resolve_as_tldextract_does(labels: list[str]) -> None:
    host = ".".join(labels)
    assert psl.registrable_domain(host) == reference(host)


CHILD = """
import gc
from tldextract.tldextract import Trie
from polite_crawl.policy.loader import load_all
from polite_crawl.policy.resolver import Resolver
resolver = Resolver(load_all().values())
assert resolver.resolve("pbs.twimg.com") is not None
assert resolver.resolve("www.example.co.uk") is None
gc.collect()
print(sum(isinstance(o, Trie) for o in gc.get_objects()))
"""


def test_a_loaded_resolver_keeps_no_trie() -> None:
    # The point of the module: once the policies are loaded, no tldextract trie node is alive.
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "0"


def test_the_rules_read_from_the_snapshot_are_the_extractors() -> None:
    # The crawl reads the snapshot file with tldextract's parser instead of building (and
    # dropping) tldextract's extractor: both must give the same rules.
    assert psl._snapshot_rules() == frozenset(_REFERENCE.tlds)
    assert len(RULES) > 6_000


def test_without_the_snapshot_file_the_extractor_gives_the_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(psl, "SNAPSHOT", ".no_such_snapshot")
    assert psl._snapshot_rules() == frozenset(_REFERENCE.tlds)
