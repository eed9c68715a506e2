"""RFC 6962 §2.1 Merkle Tree Hash, grown with a compact range ("frontier") of perfect-subtree
roots, so appending costs O(log n) memory and about two SHA-256 per leaf.

    MTH({})     = SHA-256()
    leaf hash   = SHA-256(0x00 || leaf)
    node hash   = SHA-256(0x01 || left || right)
"""

from __future__ import annotations

import hashlib

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class Frontier:
    """The roots of the perfect subtrees of a tree of `size` leaves, largest first."""

    def __init__(self) -> None:
        self.size = 0
        self._roots: list[bytes] = []  # one per set bit of size, most significant first

    def append_hash(self, h: bytes) -> None:
        # Merge with equal-sized subtrees, like binary addition carries.
        size = self.size
        while size & 1:
            h = node_hash(self._roots.pop(), h)
            size >>= 1
        self._roots.append(h)
        self.size += 1

    def append(self, leaf: bytes) -> None:
        self.append_hash(leaf_hash(leaf))

    def append_line(self, line: bytes) -> None:
        """Append the leaf `line` without its final newline, hashed without copying it."""
        h = hashlib.sha256(b"\x00")
        h.update(memoryview(line)[:-1])
        self.append_hash(h.digest())

    def root(self) -> bytes:
        if not self._roots:
            return EMPTY_ROOT
        h = self._roots[-1]
        for left in reversed(self._roots[:-1]):
            h = node_hash(left, h)
        return h


def tree_root(leaves: list[bytes]) -> bytes:
    """MTH by the recursive definition; the reference the Frontier is tested against."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(tree_root(leaves[:k]), tree_root(leaves[k:]))
