"""The streaming Merkle tree agrees with RFC 9162's recursive definition."""

from __future__ import annotations

from hashlib import sha256

from contactpoint.audit.merkle import EMPTY_ROOT, MerkleFrontier, leaf_hash, merkle_tree_hash, node_hash


def test_hashes_are_domain_separated_as_rfc_9162_says() -> None:
    assert leaf_hash(b"x") == sha256(b"\x00x").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert sha256(b"").digest() == EMPTY_ROOT


def test_the_frontier_gives_the_root_of_every_prefix() -> None:
    leaves = [leaf_hash(str(i).encode()) for i in range(70)]
    frontier = MerkleFrontier()
    assert frontier.root() == EMPTY_ROOT
    for n, leaf in enumerate(leaves, start=1):
        frontier.append(leaf)
        assert frontier.root() == merkle_tree_hash(leaves[:n]), n


def test_a_saved_frontier_carries_on_where_it_left_off() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(23)]
    frontier = MerkleFrontier()
    for leaf in leaves[:13]:
        frontier.append(leaf)
    restored = MerkleFrontier.from_bytes(13, frontier.to_bytes())
    for leaf in leaves[13:]:
        restored.append(leaf)
    assert restored.root() == merkle_tree_hash(leaves)


def test_rfc_6962_reference_root_for_the_standard_test_leaves() -> None:
    # The eight leaves and root used by Certificate Transparency's reference tests (RFC 6962 hashing,
    # identical to RFC 9162's).
    inputs = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    leaves = [leaf_hash(bytes.fromhex(i)) for i in inputs]
    frontier = MerkleFrontier()
    for leaf in leaves:
        frontier.append(leaf)
    assert frontier.root().hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
