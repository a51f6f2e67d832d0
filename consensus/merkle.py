"""Bitcoin's merkle tree over transaction hashes: roots, branches (proofs) and Stratum's form.

Standard library only (via :mod:`consensus.hashing`). Hashes are in internal byte order. Each
level pairs adjacent hashes with ``sha256d(left || right)``; an odd level pairs its last hash
with itself. That duplication lets a transaction list with a repeated tail hash to the same
root as the honest list (CVE-2012-2459); :func:`merkle_root` reports such lists as
``mutated`` exactly as Bitcoin Core's ``ComputeMerkleRoot`` does, so a node can reject the
body without marking the header invalid.
"""

from __future__ import annotations

from collections.abc import Sequence

from consensus.hashing import HASH_SIZE, ZERO_HASH, sha256d


def _check_hashes(hashes: Sequence[bytes]) -> None:
    for h in hashes:
        if len(h) != HASH_SIZE:
            raise ValueError(f"merkle leaves and branch hashes are {HASH_SIZE} bytes, got {len(h)}")


def _next_level(level: list[bytes]) -> list[bytes]:
    if len(level) % 2:
        level = [*level, level[-1]]
    return [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]


def merkle_root(leaves: Sequence[bytes]) -> tuple[bytes, bool]:
    """The merkle root of ``leaves`` and whether the list is mutated (Core's
    ``ComputeMerkleRoot``).

    ``mutated`` is true when, at some level, the two hashes of a pair (positions ``2k`` and
    ``2k + 1``, before an odd level's last hash is duplicated) are identical: the list then
    has a twin with the same root. A single leaf is its own root; no leaves give
    ``(ZERO_HASH, False)``.
    """
    _check_hashes(leaves)
    if not leaves:
        return ZERO_HASH, False
    level = list(leaves)
    mutated = False
    while len(level) > 1:
        if any(level[i] == level[i + 1] for i in range(0, len(level) - 1, 2)):
            mutated = True
        level = _next_level(level)
    return level[0], mutated


def merkle_branch(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The sibling hashes on the path from ``leaves[index]`` to the root, leaf level first.

    As Bitcoin Core's ``ComputeMerkleBranch`` (an Electrum-style proof): where a hash has no
    sibling on an odd level, its sibling is itself. A single leaf has an empty branch.
    """
    _check_hashes(leaves)
    if not 0 <= index < len(leaves):
        raise ValueError(f"index {index} out of range for {len(leaves)} leaves")
    level = list(leaves)
    branch: list[bytes] = []
    while len(level) > 1:
        sibling = index ^ 1
        branch.append(level[sibling] if sibling < len(level) else level[index])
        level = _next_level(level)
        index >>= 1
    return branch


def root_from_branch(leaf: bytes, branch: Sequence[bytes], index: int) -> bytes:
    """Fold a branch from :func:`merkle_branch` back up to the root (Core's
    ``ComputeMerkleRootFromBranch``): bit ``k`` of ``index`` says whether the hash so far is
    the right (1) or left (0) member of the pair at level ``k``.

    Raises ``ValueError`` if ``index`` does not fit in ``len(branch)`` bits.
    """
    _check_hashes([leaf, *branch])
    if not 0 <= index < (1 << len(branch)):
        raise ValueError(f"index {index} does not fit a branch of {len(branch)} hashes")
    current = leaf
    for sibling in branch:
        current = sha256d(sibling + current) if index & 1 else sha256d(current + sibling)
        index >>= 1
    return current


def stratum_branch(leaves: Sequence[bytes]) -> list[bytes]:
    """The branch of the coinbase (index 0): what Stratum's ``mining.notify`` sends.

    ``leaves`` is the block's full list, coinbase first. The branch of index 0 never depends
    on ``leaves[0]``, so a pool that does not know the coinbase hash yet (it changes with
    every extranonce) may put any 32-byte placeholder there.
    """
    if not leaves:
        raise ValueError("a block has at least the coinbase")
    return merkle_branch(leaves, 0)


def stratum_root(coinbase_hash: bytes, branch: Sequence[bytes]) -> bytes:
    """The merkle root a miner builds from its coinbase hash and a Stratum branch: the
    coinbase is always the left member, so each step is ``sha256d(current || sibling)``."""
    return root_from_branch(coinbase_hash, branch, 0)
