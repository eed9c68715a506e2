"""Registrable domains from the Public Suffix List, as tldextract computes them, without
keeping tldextract's trie alive.

The rules come from tldextract's *bundled* snapshot (ICANN section only: a platform's private
suffixes such as blogspot.com stay part of the platform). tldextract matches them with a trie of
some 18,000 small objects; a crawl would carry those through every full garbage collection
(measured: about 1 % of a crawl's CPU, docs/benchmarks.md). Here the same walk runs over two
frozensets of strings: `rules` (the trie's end nodes) and `paths` (every node: each rule and
each of its dot-suffixes). tests/test_policy_psl.py checks the result against tldextract's own
on every rule, their subdomains, wildcards, exceptions, punycode and odd hosts.
"""

from __future__ import annotations

import functools
import pkgutil

import idna
import tldextract
from tldextract.remote import lenient_netloc, looks_like_ipv6
from tldextract.suffix_list import extract_tlds_from_suffix_list

# Full-width and ideographic dots separate labels too (tldextract's reading).
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def snapshot_extractor() -> tldextract.TLDExtract:
    """The bundled snapshot only: no suffix list URL to download, no cache directory."""
    return tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False
    )


# The file tldextract ships its Public Suffix List snapshot in (and reads it from).
SNAPSHOT = ".tld_set_snapshot"


@functools.cache
def _tables() -> tuple[frozenset[str], frozenset[str]]:
    rules = _snapshot_rules()
    paths = frozenset(r.split(".", i)[-1] for r in rules for i in range(r.count(".") + 1))
    return rules, paths


def _snapshot_rules() -> frozenset[str]:
    """The ICANN rules of tldextract's bundled snapshot, read with tldextract's own parser: what
    snapshot_extractor().tlds holds, without building the extractor's trie of ~17,000 nodes
    only to drop it (27 ms of every crawl's start-up, against 8; #21). Should tldextract stop
    shipping the file under this name, the extractor answers (tests/test_policy_psl.py checks
    that both agree)."""
    try:
        data = pkgutil.get_data("tldextract", SNAPSHOT) or b""
        public, _private = extract_tlds_from_suffix_list(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError):
        public = []
    if not public:
        return frozenset(snapshot_extractor().tlds)  # the extractor and its trie dropped here
    return frozenset(public)


def _decode(label: str) -> str:
    lowered = label.lower()
    if lowered.startswith("xn--"):
        try:
            return str(idna.decode(lowered))
        except (UnicodeError, IndexError):
            pass
    return lowered


def _suffix_index(labels: list[str]) -> int | None:
    """Where the public suffix starts in labels, or None if no rule matches."""
    rules, paths = _tables()
    n = len(labels)
    suffix_idx = label_idx = n
    node = ""  # the suffix matched so far: a trie node
    for i in range(n - 1, -1, -1):
        label = _decode(labels[i])
        candidate = f"{label}.{node}" if node else label
        if candidate in paths:
            label_idx = i
            node = candidate
            if node in rules:
                suffix_idx = i
            continue
        if (f"*.{node}" if node else "*") in paths:
            # A wildcard rule takes one more label, unless an exception rule names it.
            return label_idx if f"!{candidate}" in paths else label_idx - 1
        break
    return None if suffix_idx == n else suffix_idx


def registrable_domain(host: str) -> str:
    """The registrable domain of host (its "top domain under the public suffix"), or host
    itself when it has none (an IP address, a bare suffix, a name with no known suffix)."""
    netloc = lenient_netloc(host).translate(_DOTS)
    if netloc[:1] == "[" and netloc[-1:] == "]" and looks_like_ipv6(netloc[1:-1]):
        return host
    labels = netloc.split(".")
    index = _suffix_index(labels)
    if index is None or index == 0 or index == len(labels) or not labels[index - 1]:
        return host
    return ".".join(labels[index - 1 :])
