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


def _subtree(hashes: list[bytes], lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) from the leaf hashes."""
    if hi - lo == 1:
        return hashes[lo]
    k = 1
    while k * 2 < hi - lo:
        k *= 2
    return node_hash(_subtree(hashes, lo, lo + k), _subtree(hashes, lo + k, hi))


def consistency_proof(hashes: list[bytes], m: int) -> list[bytes]:
    """RFC 6962 §2.1.2 PROOF(m, D[n]) for n = len(hashes) leaf hashes, 0 < m <= n."""
    proof: list[bytes] = []

    def sub(m: int, lo: int, hi: int, complete: bool) -> None:
        if m == hi - lo:
            if not complete:
                proof.append(_subtree(hashes, lo, hi))
            return
        k = 1
        while k * 2 < hi - lo:
            k *= 2
        if m <= k:
            sub(m, lo, lo + k, complete)
            proof.append(_subtree(hashes, lo + k, hi))
        else:
            sub(m - k, lo + k, hi, False)
            proof.append(_subtree(hashes, lo, lo + k))

    sub(m, 0, len(hashes), True)
    return proof


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: does the tree of `second` leaves extend the one of `first`?"""
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof  # every tree extends the empty one
    if first > second or not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of 2: its root is a node of the proof
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0
