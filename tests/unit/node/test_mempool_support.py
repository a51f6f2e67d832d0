"""Helpers shared by the mempool tests: a fake chain view over a dict UTXO set, funding coins
and signed payments. (Named test_* so it sits with them; it holds no tests itself.)"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import pytest

from consensus.params import REGTEST, ChainParams
from consensus.transaction import OutPoint, Transaction, TxOut
from consensus.utxo import Coin, DictCoinView
from node.mempool import Mempool
from node.mempool_policy import MempoolPolicy
from tests.framework.factory import ChainBuilder, Key, spend

NOW = 1_800_000_000
COIN_VALUE = 10**8
ALICE = Key.from_index(1)
BOB = Key.from_index(2)

Spendable = tuple[OutPoint, TxOut, Key]
ErrorT = TypeVar("ErrorT", bound=Exception)


@dataclass
class FakeChain:
    """The mempool's ChainView over a plain dict of coins."""

    coins: DictCoinView = field(default_factory=DictCoinView)
    tip_height: int = 500
    tip_median_time_past: int = NOW - 3600


@dataclass
class BuilderChain:
    """The mempool's ChainView over a ChainBuilder (switch ``builder`` to follow a reorg)."""

    builder: ChainBuilder

    @property
    def coins(self) -> DictCoinView:
        return self.builder.view

    @property
    def tip_height(self) -> int:
        return self.builder.height

    @property
    def tip_median_time_past(self) -> int:
        return self.builder.parent_info().median_time_past


def fund(chain: FakeChain, n: int, value: int = COIN_VALUE, key: Key = ALICE,
         coinbase: bool = False, height: int = 1, tag: bytes = b"") -> list[Spendable]:
    """``n`` confirmed coins of ``value`` locked to ``key``."""
    made: list[Spendable] = []
    for i in range(n):
        seed = b"fund" + tag + i.to_bytes(4, "big") + value.to_bytes(8, "big")
        txid = hashlib.sha256(seed).digest()
        outpoint = OutPoint(txid, 0)
        chain.coins.add_coin(outpoint, Coin(value, key.lock, height, coinbase))
        made.append((outpoint, TxOut(value, key.lock), key))
    return made


def pay(inputs: Sequence[Spendable], fee: int, outputs: int = 1, key: Key = ALICE,
        params: ChainParams = REGTEST, version: int = 1, locktime: int = 0) -> Transaction:
    """Spend ``inputs`` paying ``fee``, the rest split evenly over ``outputs`` outputs."""
    total = sum(out.value for _, out, _ in inputs) - fee
    share = total // outputs
    values = [share] * (outputs - 1) + [total - share * (outputs - 1)]
    return spend(inputs, [TxOut(v, key.lock) for v in values], params, locktime=locktime,
                 version=version)


def out(tx: Transaction, index: int = 0, key: Key = ALICE) -> Spendable:
    return OutPoint(tx.txid, index), tx.outputs[index], key


def pay_rate(inputs: Sequence[Spendable], rate: float, outputs: int = 1) -> Transaction:
    """A payment whose fee is ``rate`` units per byte of its own size (rounded up)."""
    tx = pay(inputs, 1000, outputs)
    for _ in range(4):
        fee = -(-int(rate * tx.size * 1000) // 1000)
        tx = pay(inputs, fee, outputs)
    return tx


def snapshot(pool: Mempool) -> tuple[object, ...]:
    """Everything a refused transaction must leave unchanged."""
    graph = pool.graph
    return (
        sorted(graph.entries),
        dict(graph.spenders),
        graph.total_size,
        {t: (e.ancestor_count, e.ancestor_size, e.descendant_count, e.descendant_size)
         for t, e in graph.entries.items()},
        pool.orphans.txids(),
        pool.rolling_floor.state(),
        sorted(pool.estimator.tracked),
    )


def make_pool(
    policy: MempoolPolicy | None = None, chain: FakeChain | None = None
) -> tuple[Mempool, FakeChain]:
    chain = chain or FakeChain()
    return Mempool(REGTEST, chain, policy), chain


def refused(pool: Mempool, tx: Transaction, error: type[ErrorT], now: int = NOW) -> ErrorT:
    """Accepting ``tx`` raises exactly ``error`` and leaves the mempool as it was."""
    before = snapshot(pool)
    with pytest.raises(error) as info:
        pool.accept(tx, now)
    assert type(info.value) is error
    assert snapshot(pool) == before
    pool.check()
    return info.value


def fee_of(pool: Mempool, txs: Sequence[Transaction]) -> int:
    total = 0
    for tx in txs:
        entry = pool.get(tx.txid)
        assert entry is not None
        total += entry.fee
    return total
