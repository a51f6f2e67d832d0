"""Block templates: the next block on the tip, filled from the mempool by ancestor fee-rate,
within the operator's ``TemplatePolicy`` (Core's ``-blockmaxweight`` and ``-blockmintxfee``).

May import consensus and stdlib; called on the chain thread (it reads chain and mempool).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from consensus.assemble import assemble_block
from consensus.block import HEADER_SIZE, Block
from consensus.block_rules import next_bits
from consensus.coinbase import EXTRANONCE_SIZE, block_subsidy
from consensus.params import ChainParams
from consensus.transaction import Transaction, TxOut
from node.blockindex import ChainEntry

# Room kept for the coinbase and the array header: a coinbase paying a few hundred pool
# outputs still fits.
COINBASE_RESERVE = 20_000


class TemplateSource(Protocol):
    def select_for_block(
        self, max_bytes: int, min_fee_rate: float = 0.0
    ) -> tuple[list[Transaction], int]: ...


@dataclass(frozen=True)
class TemplatePolicy:
    """What the node's own templates may hold: ``max_size`` bytes of block (0: the consensus
    limit), and only packages paying at least ``min_fee_rate`` units per byte (modified fees,
    as selection ranks them)."""

    max_size: int = 0
    min_fee_rate: int = 0

    def tx_bytes(self, params: ChainParams) -> int:
        """The bytes left for transactions."""
        size = (
            params.max_block_size
            if not self.max_size
            else min(self.max_size, params.max_block_size)
        )
        return size - HEADER_SIZE - COINBASE_RESERVE


MIN_BLOCK_SIZE = HEADER_SIZE + COINBASE_RESERVE + 1_000  # the smallest --block-max-size


@dataclass(frozen=True)
class BlockTemplate:
    parent: ChainEntry
    height: int
    time: int
    bits: int
    transactions: tuple[Transaction, ...]
    fees: int
    reward: int  # subsidy + fees: what the coinbase may pay in total

    def block(
        self,
        coinbase_outputs: Sequence[TxOut],
        extranonce: bytes = bytes(EXTRANONCE_SIZE),
        tag: bytes = b"",
    ) -> Block:
        return assemble_block(
            self.parent.hash,
            self.height,
            self.time,
            self.bits,
            self.transactions,
            coinbase_outputs,
            extranonce,
            tag,
        )


def make_template(
    tip: ChainEntry,
    mempool: TemplateSource,
    params: ChainParams,
    now: int,
    policy: TemplatePolicy = TemplatePolicy(),
) -> BlockTemplate:
    txs, fees = mempool.select_for_block(policy.tx_bytes(params), policy.min_fee_rate)
    height = tip.height + 1
    return BlockTemplate(
        parent=tip,
        height=height,
        time=max(now, tip.median_time_past + 1),
        bits=next_bits(tip, params),
        transactions=tuple(txs),
        fees=fees,
        reward=block_subsidy(height, params.halving_interval) + fees,
    )
