"""Bitcoin Core's ``prioritisetransaction``: a fee delta that block selection, eviction, the fee
floors and the replacement rules count, never the fee paid; set before or after the
transaction arrives, dropped once it is mined, kept across a restart in ``mempool.dat``."""

from __future__ import annotations

import pytest

from node import mempool_errors as M
from node import persist
from node.mempool import MAX_DELTAS, Mempool
from node.mempool_policy import MempoolPolicy
from tests.framework.factory import ChainBuilder
from tests.unit.node.test_mempool_support import (
    BOB,
    NOW,
    BuilderChain,
    fee_of,
    fund,
    make_pool,
    out,
    pay,
    pay_rate,
    refused,
)


def test_a_delta_lifts_a_cheap_transaction_and_its_parent_in_the_template() -> None:
    pool, chain = make_pool()
    coins = fund(chain, 2)
    parent = pay_rate([coins[0]], 1.0)
    child = pay_rate([out(parent)], 1.0)
    rich = pay_rate([coins[1]], 10.0)
    for tx in (parent, child, rich):
        pool.accept(tx, NOW)
    txs, fees = pool.select_for_block(10_000)
    assert [t.txid for t in txs] == [rich.txid, parent.txid, child.txid]
    assert pool.prioritise(child.txid, 100 * child.size) == 100 * child.size
    pool.check()
    txs, fees = pool.select_for_block(10_000)
    assert [t.txid for t in txs] == [parent.txid, child.txid, rich.txid]
    assert fees == fee_of(pool, txs)  # what the block earns: real fees, no delta
    entry = pool.get(child.txid)
    assert entry is not None and entry.modified_fee == entry.fee + 100 * child.size
    parent_entry = pool.get(parent.txid)
    assert parent_entry is not None
    assert parent_entry.descendant_fees == parent_entry.fee + entry.modified_fee
    # taken back in two steps: the delta sums, and at zero it is gone
    assert pool.prioritise(child.txid, -50 * child.size) == 50 * child.size
    assert pool.prioritise(child.txid, -50 * child.size) == 0
    assert pool.deltas == {}
    pool.check()
    assert pool.select_for_block(10_000)[0][0].txid == rich.txid


def test_a_delta_set_before_arrival_lets_a_transaction_under_the_fee_floor_in() -> None:
    pool, chain = make_pool()
    coins = fund(chain, 2)
    free = pay([coins[0]], 0)
    refused(pool, free, M.MinFeeNotMet)
    pool.prioritise(free.txid, 10 * free.size)
    pool.accept(free, NOW)
    entry = pool.get(free.txid)
    assert entry is not None and (entry.fee, entry.delta) == (0, 10 * free.size)
    pool.check()
    # a negative delta ranks a transaction below the floor
    cheap = pay_rate([coins[1]], 2.0)
    pool.prioritise(cheap.txid, -2 * cheap.size)
    refused(pool, cheap, M.MinFeeNotMet)


def test_eviction_counts_the_delta() -> None:
    size = pay_rate(fund(make_pool()[1], 1), 2.0).size
    pool, chain = make_pool(MempoolPolicy(max_bytes=int(size * 2.5)))
    coins = fund(chain, 3)
    low = pay_rate([coins[0]], 2.0)
    high = pay_rate([coins[1]], 5.0)
    pool.accept(low, NOW)
    pool.accept(high, NOW)
    pool.prioritise(low.txid, 10 * low.size)  # now the best of the two
    result = pool.accept(pay_rate([coins[2]], 6.0), NOW)
    assert result.evicted == (high.txid,)  # without the delta, low would have gone
    pool.check()


def test_replacement_rules_count_modified_fees() -> None:
    pool, chain = make_pool()
    coin = fund(chain, 1)[0]
    original = pay([coin], 2000)
    pool.accept(original, NOW)
    better = pay([coin], 4000, key=BOB)
    pool.prioritise(original.txid, 10_000)  # the original now weighs 12,000
    refused(pool, better, M.RbfFeeRateTooLow)
    pool.prioritise(better.txid, 20_000)
    assert pool.accept(better, NOW).replaced == (original.txid,)
    pool.check()


def test_a_mined_transaction_loses_its_delta_and_the_others_keep_theirs() -> None:
    builder = ChainBuilder()
    builder.mine(105)
    pool = Mempool(builder.params, BuilderChain(builder))
    outpoint, txout = builder.coinbase_coin(1)
    mined = pay([(outpoint, txout, builder.miner_key)], 5000)
    waiting = bytes(32)
    pool.accept(mined, NOW)
    pool.prioritise(mined.txid, 1000)
    pool.prioritise(waiting, 7)
    pool.block_connected(builder.add(builder.make_block([mined])))
    assert pool.deltas == {waiting: 7}


def test_deltas_are_bounded_and_survive_a_restart() -> None:
    pool, chain = make_pool()
    coins = fund(chain, 1)
    tx = pay_rate([coins[0]], 3.0)
    pool.accept(tx, NOW)
    pool.prioritise(tx.txid, 500)
    pool.prioritise(b"\x01" * 32, -9)
    saved = persist.decode_mempool(persist.encode_mempool(pool, "regtest"), "regtest")
    assert sorted(saved.deltas) == sorted([(tx.txid, 500), (b"\x01" * 32, -9)])
    # a file from before deltas existed still reads
    empty, _ = make_pool()
    assert persist.decode_mempool(persist.encode_mempool(empty, "regtest"), "regtest").deltas == []
    pool.deltas.update({i.to_bytes(32, "big"): 1 for i in range(2, MAX_DELTAS)})
    with pytest.raises(M.TooManyPrioritised):
        pool.prioritise(b"\xff" * 32, 1)
    assert pool.prioritise(tx.txid, 1) == 501  # an existing one may still change
