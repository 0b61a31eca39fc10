"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, computed as a stream.

``MTH({}) = SHA-256()``, ``leaf = SHA-256(0x00 || data)``, ``node = SHA-256(0x01 || left || right)``,
splitting ``n`` leaves at the largest power of two below ``n``. :class:`MerkleFrontier` keeps only the
roots of the perfect subtrees seen so far (at most 64 hashes), so the root of the first ``n`` leaves of
a log of any length is available after reading leaf ``n`` with constant memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256

HASH_SIZE = 32
EMPTY_ROOT = sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right).digest()


class MerkleFrontier:
    """The right edge of a Merkle tree being built one leaf at a time."""

    __slots__ = ("size", "_stack")

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[bytes] = []  # roots of perfect subtrees, largest (leftmost) first

    def append(self, leaf: bytes) -> None:
        node = leaf
        n = self.size
        stack = self._stack
        while n & 1:  # each trailing 1 bit of the size is a subtree of equal height to merge with
            node = sha256(b"\x01" + stack.pop() + node).digest()  # node_hash, inlined: the hot loop
            n >>= 1
        stack.append(node)
        self.size += 1

    def root(self) -> bytes:
        """MTH of the leaves appended so far."""
        if not self._stack:
            return EMPTY_ROOT
        node = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node

    def to_bytes(self) -> bytes:
        return b"".join(self._stack)

    @classmethod
    def from_bytes(cls, size: int, data: bytes) -> MerkleFrontier:
        """Rebuild a frontier saved with :meth:`to_bytes` for a tree of ``size`` leaves."""
        if len(data) != HASH_SIZE * bin(size).count("1"):
            raise ValueError(f"a frontier of a {size}-leaf tree has {bin(size).count('1')} hashes")
        frontier = cls()
        frontier.size = size
        frontier._stack = [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
        return frontier


def merkle_tree_hash(leaves: Sequence[bytes]) -> bytes:
    """The recursive definition of RFC 9162 section 2.1.1, for tests and small trees."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return node_hash(merkle_tree_hash(leaves[:k]), merkle_tree_hash(leaves[k:]))
