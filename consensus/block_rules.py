"""Header and block rules: context-free sanity apart from checks that need the parent.
Standard library only; the parent comes in as a value, the clock as ``now``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from consensus.block import Block, BlockHeader
from consensus.coinbase import coinbase_height
from consensus.errors import (
    BadBlockVersion,
    BadCoinbaseHeight,
    BadDifficultyBits,
    BadMerkleRoot,
    BlockMutated,
    BlockTooLarge,
    DuplicateTransaction,
    FirstNotCoinbase,
    MultipleCoinbases,
    NoTransactions,
    TimestampTooNew,
    TimestampTooOld,
)
from consensus.params import ChainParams
from consensus.pow import check_proof_of_work, next_bits_asert
from consensus.tx_rules import check_transaction_final, check_transaction_sanity


class ParentInfo(Protocol):
    """What the rules need to know of a block's parent (the node's chain entry has these)."""

    @property
    def height(self) -> int: ...

    @property
    def time(self) -> int: ...

    @property
    def median_time_past(self) -> int: ...


def median_time(times: Sequence[int]) -> int:
    """Median of the last (up to) 11 block times, as Bitcoin's GetMedianTimePast."""
    window = sorted(times[-11:])
    return window[len(window) // 2]


def next_bits(parent: ParentInfo, params: ChainParams) -> int:
    """The ``bits`` the block after ``parent`` must carry: aserti3-2d anchored at genesis, or
    the genesis bits on a network without retargeting (regtest)."""
    if not params.retarget:
        return params.pow_limit_bits
    return next_bits_asert(
        anchor_bits=params.pow_limit_bits,
        anchor_time=params.genesis_time,
        anchor_height=0,
        parent_time=parent.time,
        parent_height=parent.height,
        spacing=params.spacing,
        half_life=params.half_life,
        pow_limit=params.pow_limit,
    )


def check_header_sanity(header: BlockHeader, params: ChainParams) -> None:
    if header.version < 1:
        raise BadBlockVersion(f"block version {header.version} < 1")
    check_proof_of_work(header.hash, header.bits, params.pow_limit)


def check_header_contextual(
    header: BlockHeader, parent: ParentInfo, now: int, params: ChainParams
) -> None:
    expected = next_bits(parent, params)
    if header.bits != expected:
        raise BadDifficultyBits(f"bits {header.bits:#010x} != expected {expected:#010x}")
    if header.time <= parent.median_time_past:
        raise TimestampTooOld(f"time {header.time} <= median time past {parent.median_time_past}")
    if header.time > now + params.max_future_block_time:
        raise TimestampTooNew(
            f"time {header.time} more than {params.max_future_block_time} s ahead of {now}"
        )


def check_block_sanity(block: Block, params: ChainParams, *, check_pow: bool = True) -> None:
    """Everything that needs only the block: header, structure, merkle root, each transaction.

    The merkle root is checked before anything else about the body, so a body that does not
    match its header fails with a non-permanent error (``BadMerkleRoot``/``BlockMutated``).
    ``check_pow=False`` skips the proof of work alone (a block proposal, BIP 23).
    """
    if check_pow:
        check_header_sanity(block.header, params)
    elif block.header.version < 1:
        raise BadBlockVersion(f"block version {block.header.version} < 1")
    if not block.transactions:
        raise NoTransactions("a block needs a coinbase")
    root, mutated = block.compute_merkle_root()
    if mutated:
        raise BlockMutated("duplicate transactions make a CVE-2012-2459 merkle mutation")
    if root != block.header.merkle_root:
        raise BadMerkleRoot("transactions do not hash to the header's merkle root")
    if block.size > params.max_block_size:
        raise BlockTooLarge(f"block of {block.size} bytes is over {params.max_block_size}")
    if not block.transactions[0].is_coinbase:
        raise FirstNotCoinbase("the first transaction must be the coinbase")
    if len({tx.txid for tx in block.transactions}) != len(block.transactions):
        raise DuplicateTransaction("a transaction appears twice in the block")
    for tx in block.transactions[1:]:
        if tx.is_coinbase:
            raise MultipleCoinbases(f"{tx.txid_hex} is a second coinbase")
    for tx in block.transactions:
        check_transaction_sanity(tx)
    coinbase_height(block.transactions[0])


def check_block_contextual(block: Block, parent: ParentInfo, params: ChainParams) -> None:
    """Rules that need the parent: the coinbase's height and every transaction's finality."""
    height = parent.height + 1
    committed = coinbase_height(block.transactions[0])
    if committed != height:
        raise BadCoinbaseHeight(f"coinbase commits to height {committed}, block is at {height}")
    for tx in block.transactions:
        check_transaction_final(tx, height, parent.median_time_past)
