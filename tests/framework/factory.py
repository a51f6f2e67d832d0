"""Test fixtures for building keys, signed transactions and chains of solved blocks in memory.

Deterministic: key ``i`` is always the same key, so failures reproduce.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from consensus.addresses import encode_address, key_hash, lock_for_key_hash
from consensus.assemble import assemble_block, solve_block
from consensus.block import Block
from consensus.block_rules import median_time, next_bits
from consensus.coinbase import block_subsidy
from consensus.params import REGTEST, ChainParams
from consensus.signing import public_key, sign_transaction
from consensus.transaction import OutPoint, Transaction, TxOut
from consensus.utxo import Coin, DictCoinView, connect_block


@dataclass(frozen=True)
class Key:
    private: bytes
    public: bytes
    key_hash: bytes
    lock: bytes

    @classmethod
    def from_index(cls, index: int) -> Key:
        private = hashlib.sha256(b"seedchain-test-key" + index.to_bytes(8, "big")).digest()
        public = public_key(private)
        kh = key_hash(public)
        return cls(private, public, kh, lock_for_key_hash(kh))

    def address(self, params: ChainParams = REGTEST) -> str:
        return encode_address(self.key_hash, params.hrp)


def spend(
    inputs: Sequence[tuple[OutPoint, TxOut, Key]],
    outputs: Sequence[TxOut],
    params: ChainParams = REGTEST,
    locktime: int = 0,
    extra: bytes = b"",
    version: int = 1,
) -> Transaction:
    """A transaction spending ``inputs`` (outpoint, the output it spends, its key), signed."""
    unsigned = Transaction(
        version, tuple(op for op, _, _ in inputs), tuple(outputs), locktime, extra, ()
    )
    return sign_transaction(
        unsigned, [k.private for _, _, k in inputs], [out for _, out, _ in inputs], params.chain_id
    )


@dataclass
class ChainEntryStub:
    """The ``ParentInfo`` of a block in a ``ChainBuilder`` chain."""

    height: int
    time: int
    median_time_past: int


@dataclass
class ChainBuilder:
    """A linear chain built and connected in memory (with a ``DictCoinView``), for tests and
    benchmarks. ``fork(height)`` starts a second builder sharing the first ``height`` blocks."""

    params: ChainParams = REGTEST
    blocks: list[Block] = field(default_factory=list)
    view: DictCoinView = field(default_factory=DictCoinView)
    miner_key: Key = field(default_factory=lambda: Key.from_index(0))
    spacing: int = 60

    def __post_init__(self) -> None:
        if not self.blocks:
            self.blocks.append(self.params.genesis)

    @property
    def height(self) -> int:
        return len(self.blocks) - 1

    @property
    def tip(self) -> Block:
        return self.blocks[-1]

    def parent_info(self, height: int | None = None) -> ChainEntryStub:
        h = self.height if height is None else height
        times = [b.header.time for b in self.blocks[max(0, h - 10) : h + 1]]
        return ChainEntryStub(h, self.blocks[h].header.time, median_time(times))

    def make_block(
        self,
        txs: Sequence[Transaction] = (),
        coinbase_outputs: Sequence[TxOut] | None = None,
        time: int | None = None,
        bits: int | None = None,
        extra_fee: int = 0,
        tag: bytes = b"",
    ) -> Block:
        """A solved block on the tip (not yet appended; see ``add``)."""
        parent = self.parent_info()
        height = parent.height + 1
        if coinbase_outputs is None:
            value = block_subsidy(height, self.params.halving_interval) + extra_fee
            coinbase_outputs = [TxOut(value, self.miner_key.lock)]
        block = assemble_block(
            self.tip.hash,
            height,
            self.tip.header.time + self.spacing if time is None else time,
            next_bits(parent, self.params) if bits is None else bits,
            txs,
            coinbase_outputs,
            tag=tag,
        )
        solved = solve_block(block)
        assert solved is not None
        return solved

    def add(self, block: Block) -> Block:
        """Connect ``block`` to the in-memory view (rules of ``connect_block`` apply)."""
        connect_block(block, self.height + 1, self.view, self.params)
        self.blocks.append(block)
        return block

    def mine(self, n: int = 1, txs: Sequence[Transaction] = ()) -> list[Block]:
        made = []
        for i in range(n):
            made.append(self.add(self.make_block(txs if i == 0 else ())))
        return made

    def coinbase_coin(self, height: int) -> tuple[OutPoint, TxOut]:
        cb = self.blocks[height].transactions[0]
        return OutPoint(cb.txid, 0), cb.outputs[0]

    def fork(self, height: int) -> ChainBuilder:
        other = ChainBuilder(
            self.params, self.blocks[: height + 1], DictCoinView(), self.miner_key, self.spacing
        )
        for h, block in enumerate(other.blocks[1:], start=1):
            connect_block(block, h, other.view, self.params, verifier=None)
        return other


def coin_of(tx: Transaction, index: int, height: int) -> tuple[OutPoint, Coin]:
    out = tx.outputs[index]
    return OutPoint(tx.txid, index), Coin(out.value, out.lock, height, tx.is_coinbase)
