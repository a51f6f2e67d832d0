"""The mempool following the chain: blocks remove what they confirm and what conflicts with it;
reorgs bring back the disconnected blocks' transactions and drop what the new chain invalidates."""

from __future__ import annotations

from consensus.params import REGTEST
from node.mempool import Mempool
from tests.framework.factory import ChainBuilder
from tests.unit.node.test_mempool_support import (
    BOB,
    NOW,
    BuilderChain,
    FakeChain,
    Spendable,
    fund,
    make_pool,
    out,
    pay,
)


def _setup(height: int = 105) -> tuple[Mempool, BuilderChain, ChainBuilder]:
    builder = ChainBuilder()
    builder.mine(height)
    chain = BuilderChain(builder)
    return Mempool(REGTEST, chain), chain, builder


def _coinbase(builder: ChainBuilder, height: int) -> Spendable:
    outpoint, txout = builder.coinbase_coin(height)
    return outpoint, txout, builder.miner_key


def test_block_removes_confirmed_and_conflicting_transactions() -> None:
    pool, _, builder = _setup()
    t1 = pay([_coinbase(builder, 1)], 5000)
    c1 = pay([out(t1)], 5000)
    t2 = pay([_coinbase(builder, 2)], 5000)
    t3 = pay([_coinbase(builder, 3)], 5000)
    d3 = pay([out(t3)], 5000)
    for tx in (t1, c1, t2, t3, d3):
        pool.accept(tx, NOW)
    rival = pay([_coinbase(builder, 3)], 9000, key=BOB)
    block = builder.add(builder.make_block([t1, rival]))
    removed = pool.block_connected(block)
    assert set(removed) == {t3.txid, d3.txid}
    assert set(pool.txids()) == {c1.txid, t2.txid}
    entry = pool.get(c1.txid)
    assert entry is not None and entry.ancestor_count == 1 and entry.parents == set()
    pool.check()
    # The child of the confirmed parent now spends a chain coin; a block confirming it empties us.
    builder.add(builder.make_block([c1, t2]))
    pool.block_connected(builder.tip)
    assert pool.count == 0 and pool.bytes == 0
    pool.check()


def test_block_feeds_the_fee_estimator() -> None:
    pool, _, builder = _setup()
    tx = pay([_coinbase(builder, 1)], 5000)
    pool.accept(tx, NOW)
    assert tx.txid in pool.estimator.tracked
    builder.add(builder.make_block([tx]))
    pool.block_connected(builder.tip)
    assert tx.txid not in pool.estimator.tracked
    assert pool.estimator.best_height == builder.height
    assert round(sum(pool.estimator.tx_count) * pool.estimator.scale, 9) == 1


def test_reorg_returns_disconnected_transactions_and_relinks_their_children() -> None:
    pool, chain, builder = _setup()
    alt = builder.fork(105)
    a = pay([_coinbase(builder, 1)], 5000, outputs=2)
    b = pay([out(a, 0)], 5000)
    block = builder.add(builder.make_block([a, b]))
    pool.block_connected(block)
    c = pay([out(b)], 5000)
    d = pay([out(a, 1)], 5000)
    pool.accept(c, NOW)
    pool.accept(d, NOW)
    assert pool.get(c.txid).ancestor_count == 1  # type: ignore[union-attr]
    alt.mine(2)
    chain.builder = alt
    result = pool.reorg([block], alt.blocks[106:], NOW + 10)
    assert set(result.returned) == {a.txid, b.txid}
    assert set(pool.txids()) == {a.txid, b.txid, c.txid, d.txid}
    assert pool.ancestors(c.txid) == {a.txid, b.txid}
    assert pool.descendants(a.txid) == {b.txid, c.txid, d.txid}
    assert pool.get(a.txid).descendant_count == 4  # type: ignore[union-attr]
    pool.check()


def test_reorg_drops_spends_of_a_coinbase_that_is_gone() -> None:
    pool, chain, builder = _setup(101)
    spender = pay([_coinbase(builder, 1)], 5000)
    pool.accept(spender, NOW)
    alt = builder.fork(0)
    alt.add(alt.make_block(tag=b"other branch"))
    alt.mine(101)
    chain.builder = alt
    result = pool.reorg(list(reversed(builder.blocks[1:])), alt.blocks[1:], NOW)
    assert result.removed == (spender.txid,) and result.returned == ()
    assert pool.count == 0
    pool.check()


def test_reorg_double_spend_on_the_new_chain_evicts_the_mempool_version() -> None:
    pool, chain, builder = _setup()
    alt = builder.fork(105)
    x = pay([_coinbase(builder, 3)], 5000)
    kept = pay([_coinbase(builder, 4)], 5000)
    old_block = builder.add(builder.make_block([x, kept]))
    pool.block_connected(old_block)
    y = pay([out(x)], 5000)
    m = pay([_coinbase(builder, 2)], 5000)
    pool.accept(y, NOW)
    pool.accept(m, NOW)
    rival_m = pay([_coinbase(builder, 2)], 7000, key=BOB)
    rival_x = pay([_coinbase(builder, 3)], 7000, key=BOB)
    alt.add(alt.make_block([rival_m, rival_x]))
    alt.mine(1)
    chain.builder = alt
    result = pool.reorg([old_block], alt.blocks[106:], NOW)
    assert result.returned == (kept.txid,)
    assert set(result.removed) == {m.txid, y.txid}
    assert pool.txids() == [kept.txid]
    pool.check()


def test_reorg_to_a_lower_tip_drops_immature_and_non_final_spends() -> None:
    chain = FakeChain(tip_height=500)
    pool, _ = make_pool(chain=chain)
    young = fund(chain, 1, coinbase=True, height=401, tag=b"cb")[0]
    plain = fund(chain, 2, tag=b"plain")
    immature_later = pay([young], 5000)
    non_final_later = pay([plain[0]], 5000, locktime=500)
    fine = pay([plain[1]], 5000)
    for tx in (immature_later, non_final_later, fine):
        pool.accept(tx, NOW)
    chain.tip_height = 499
    result = pool.reorg([], [], NOW)
    assert set(result.removed) == {immature_later.txid, non_final_later.txid}
    assert pool.txids() == [fine.txid]
    pool.check()


def test_returning_transactions_let_waiting_orphans_in() -> None:
    pool, chain, builder = _setup()
    alt = builder.fork(105)
    a = pay([_coinbase(builder, 1)], 5000)
    block = builder.add(builder.make_block([a]))
    pool.block_connected(block)
    alt.mine(2)
    chain.builder = alt
    child = pay([out(a)], 5000)
    # Seen during the switch, before the mempool caught up: an orphan for now.
    assert pool.accept(child, NOW).orphan
    result = pool.reorg([block], alt.blocks[106:], NOW)
    assert [r.txid for r in result.accepted_orphans] == [child.txid]
    assert set(pool.txids()) == {a.txid, child.txid}
    pool.check()
