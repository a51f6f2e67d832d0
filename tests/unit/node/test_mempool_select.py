"""Block template selection by ancestor fee-rate (Bitcoin Core's BlockAssembler)."""

from __future__ import annotations

from tests.unit.node.test_mempool_support import (
    NOW,
    fee_of,
    fund,
    make_pool,
    out,
    pay_rate,
)


def test_a_high_fee_child_pulls_its_low_fee_parent_in_first() -> None:
    pool, chain = make_pool()
    coins = fund(chain, 2)
    parent = pay_rate([coins[0]], 1.0)
    child = pay_rate([out(parent)], 20.0)
    middle = pay_rate([coins[1]], 5.0)
    for tx in (parent, child, middle):
        pool.accept(tx, NOW)
    txs, fees = pool.select_for_block(10_000)
    assert [t.txid for t in txs] == [parent.txid, child.txid, middle.txid]
    assert fees == fee_of(pool, txs)
    txs, _ = pool.select_for_block(parent.size + child.size)
    assert [t.txid for t in txs] == [parent.txid, child.txid]
    txs, _ = pool.select_for_block(middle.size + 5)
    assert [t.txid for t in txs] == [middle.txid]


def test_a_chosen_parent_no_longer_lifts_its_cheap_child() -> None:
    pool, chain = make_pool()
    coins = fund(chain, 2)
    parent = pay_rate([coins[0]], 10.0)
    child = pay_rate([out(parent)], 2.0)
    other = pay_rate([coins[1]], 5.0)
    for tx in (parent, child, other):
        pool.accept(tx, NOW)
    txs, _ = pool.select_for_block(10_000)
    assert [t.txid for t in txs] == [parent.txid, other.txid, child.txid]


def test_selection_respects_the_size_limit_and_puts_parents_first() -> None:
    pool, chain = make_pool()
    coins = fund(chain, 12)
    made = []
    for i, coin in enumerate(coins):
        tx = pay_rate([coin], 1.0 + (i * 7) % 11, outputs=2)
        pool.accept(tx, NOW)
        made.append(tx)
        if i % 3 == 0:
            child = pay_rate([out(tx, 1)], 1.0 + (i * 5) % 13)
            pool.accept(child, NOW)
            made.append(child)
    sizes = {t.txid: t.size for t in made}
    for limit in (0, 300, 1000, 1500, 2500, 100_000):
        txs, fees = pool.select_for_block(limit)
        assert sum(sizes[t.txid] for t in txs) <= limit
        seen: set[bytes] = set()
        for tx in txs:
            entry = pool.get(tx.txid)
            assert entry is not None and entry.parents <= seen
            seen.add(tx.txid)
        assert fees == fee_of(pool, txs)
    assert len(pool.select_for_block(100_000)[0]) == len(made)


def test_a_minimum_fee_rate_keeps_cheap_packages_out() -> None:
    pool, chain = make_pool()
    coins = fund(chain, 3)
    parent = pay_rate([coins[0]], 1.0)
    child = pay_rate([out(parent)], 9.0)  # the package pays ~5 per byte
    cheap = pay_rate([coins[1]], 2.0)
    rich = pay_rate([coins[2]], 6.0)
    for tx in (parent, child, cheap, rich):
        pool.accept(tx, NOW)
    txs, fees = pool.select_for_block(10_000, min_fee_rate=4.0)
    assert [t.txid for t in txs] == [rich.txid, parent.txid, child.txid]
    assert fees == fee_of(pool, txs)
    assert pool.select_for_block(10_000, min_fee_rate=7.0)[0] == []
    assert len(pool.select_for_block(10_000)[0]) == 4
