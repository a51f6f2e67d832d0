"""Tests for consensus.merkle: Bitcoin's merkle root, CVE-2012-2459 detection and branches."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consensus.hashing import ZERO_HASH, hash_to_hex, hex_to_hash, sha256d
from consensus.merkle import (
    merkle_branch,
    merkle_root,
    root_from_branch,
    stratum_branch,
    stratum_root,
)

# Bitcoin block 100000: txids as shown (reversed) and its merkle root.
BLOCK_100000_TXIDS = [
    "8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87",
    "fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4",
    "6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4",
    "e9a66845e05d5abc0ad04ec80f774a7e585c6e8db975962d069a522137b80c1d",
]
BLOCK_100000_ROOT = "f3e94742aca4b5ef85488dc37c06c3282295ffec960994b2c0d5ac2a25a95766"


def _leaf(i: int) -> bytes:
    return sha256d(i.to_bytes(4, "little"))


def _pair(left: bytes, right: bytes) -> bytes:
    return sha256d(left + right)


def test_bitcoin_block_100000() -> None:
    leaves = [hex_to_hash(txid) for txid in BLOCK_100000_TXIDS]
    root, mutated = merkle_root(leaves)
    assert hash_to_hex(root) == BLOCK_100000_ROOT
    assert mutated is False
    for index, leaf in enumerate(leaves):
        assert root_from_branch(leaf, merkle_branch(leaves, index), index) == root
    assert merkle_branch(leaves, 2) == [leaves[3], _pair(leaves[0], leaves[1])]


def test_empty_and_single() -> None:
    assert merkle_root([]) == (ZERO_HASH, False)
    leaf = _leaf(7)
    assert merkle_root([leaf]) == (leaf, False)
    assert merkle_branch([leaf], 0) == []
    assert root_from_branch(leaf, [], 0) == leaf
    assert stratum_branch([leaf]) == []
    assert stratum_root(leaf, []) == leaf


def test_odd_counts_pair_the_last_hash_with_itself() -> None:
    a, b, c, d, e = (_leaf(i) for i in range(5))
    assert merkle_root([a, b, c])[0] == _pair(_pair(a, b), _pair(c, c))
    right = _pair(_pair(e, e), _pair(e, e))
    expected = _pair(_pair(_pair(a, b), _pair(c, d)), right)
    assert merkle_root([a, b, c, d, e]) == (expected, False)
    assert merkle_branch([a, b, c, d, e], 4) == [e, _pair(e, e), _pair(_pair(a, b), _pair(c, d))]


def test_cve_2012_2459_mutation_is_flagged() -> None:
    a, b, c, d, e, f = (_leaf(i) for i in range(6))
    honest, honest_mutated = merkle_root([a, b, c])
    twin, twin_mutated = merkle_root([a, b, c, c])  # duplicated last leaf: same root
    assert twin == honest
    assert (honest_mutated, twin_mutated) == (False, True)
    # A duplicated pair one level up: [e, f] repeated.
    honest6, flag6 = merkle_root([a, b, c, d, e, f])
    twin8, flag8 = merkle_root([a, b, c, d, e, f, e, f])
    assert twin8 == honest6
    assert (flag6, flag8) == (False, True)
    # Any identical pair at an even position is flagged (Core does too) ...
    assert merkle_root([a, a])[1] is True
    assert merkle_root([a, b, c, c, d])[1] is True
    # ... but not identical hashes at an odd position pair.
    assert merkle_root([a, b, b, c])[1] is False


def test_bad_arguments() -> None:
    leaves = [_leaf(i) for i in range(3)]
    with pytest.raises(ValueError):
        merkle_branch(leaves, 3)
    with pytest.raises(ValueError):
        merkle_branch(leaves, -1)
    with pytest.raises(ValueError):
        merkle_root([b"short"])
    with pytest.raises(ValueError):
        root_from_branch(leaves[0], [leaves[1]], 2)  # index needs more bits than the branch
    with pytest.raises(ValueError):
        stratum_branch([])


def _reference_root(leaves: list[bytes]) -> bytes:
    """A recursive statement of the tree: split at the largest power of two below n."""
    if len(leaves) == 1:
        return leaves[0]
    width = 1
    while width * 2 < len(leaves):
        width *= 2
    left = _reference_root(leaves[:width])
    right_leaves = leaves[width:]
    # Padding an odd level duplicates the last hash: a short right subtree pairs with itself.
    right = _reference_root(right_leaves)
    depth_left = width.bit_length() - 1
    depth_right = (len(right_leaves) - 1).bit_length()
    for _ in range(depth_left - depth_right):
        right = _pair(right, right)
    return _pair(left, right)


@given(st.integers(min_value=1, max_value=17), st.integers(min_value=0, max_value=2**16))
def test_branch_round_trips_for_every_index(size: int, salt: int) -> None:
    leaves = [sha256d(salt.to_bytes(4, "little") + i.to_bytes(1, "little")) for i in range(size)]
    root, mutated = merkle_root(leaves)
    assert mutated is False
    assert root == _reference_root(leaves)
    for index, leaf in enumerate(leaves):
        branch = merkle_branch(leaves, index)
        assert len(branch) == (size - 1).bit_length()
        assert root_from_branch(leaf, branch, index) == root
    # Stratum: the coinbase branch does not depend on the coinbase, and rebuilds the root.
    branch0 = stratum_branch(leaves)
    assert branch0 == merkle_branch(leaves, 0)
    assert stratum_branch([ZERO_HASH, *leaves[1:]]) == branch0
    assert stratum_root(leaves[0], branch0) == root


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=17))
def test_any_leaves_round_trip(leaves: list[bytes]) -> None:
    root, _ = merkle_root(leaves)
    for index, leaf in enumerate(leaves):
        assert root_from_branch(leaf, merkle_branch(leaves, index), index) == root
