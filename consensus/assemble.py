"""Putting blocks together: a block from its parts, and solving one's proof of work.

Standard library only. Used by the node's miner, the pool and tests; the nonce search itself
is ``consensus.nonce_search`` (native or hashlib).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from consensus.block import Block, BlockHeader
from consensus.coinbase import EXTRANONCE_SIZE, make_coinbase
from consensus.merkle import merkle_root
from consensus.pow import compact_to_target
from consensus.transaction import Transaction, TxOut

BLOCK_VERSION = 1
U32_RANGE = 1 << 32


def assemble_block(
    prev_hash: bytes,
    height: int,
    time: int,
    bits: int,
    transactions: Sequence[Transaction],
    coinbase_outputs: Sequence[TxOut],
    extranonce: bytes = bytes(EXTRANONCE_SIZE),
    tag: bytes = b"",
    version: int = BLOCK_VERSION,
) -> Block:
    """A block at ``height`` on ``prev_hash`` with a fresh coinbase, nonce 0, unsolved."""
    coinbase = make_coinbase(height, coinbase_outputs, extranonce, tag)
    txs = (coinbase, *transactions)
    root, _ = merkle_root([tx.wtxid for tx in txs])
    header = BlockHeader(version, prev_hash, root, time, bits, 0)
    return Block(header, txs)


def with_nonce(block: Block, nonce: int) -> Block:
    return Block(replace(block.header, nonce=nonce), block.transactions)


def solve_block(block: Block, start: int = 0, count: int = U32_RANGE) -> Block | None:
    """Search nonces ``[start, start + count)`` for one meeting the block's own ``bits``; the
    solved block, or None if the range has none (the caller then rolls time or extranonce)."""
    from consensus.nonce_search import search_nonce  # the engine is optional at import time

    target = compact_to_target(block.header.bits)
    nonce = search_nonce(block.header.encoded[:76], target, start, min(count, U32_RANGE - start))
    return None if nonce is None else with_nonce(block, nonce)
