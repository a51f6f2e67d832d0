"""The mempool's bounds: eviction under the size cap with the rolling minimum fee, expiry, and the
orphan pool (bounds, resolution, expiry, invalid orphans)."""

from __future__ import annotations

import pytest

from consensus import errors as E
from consensus.assemble import assemble_block
from consensus.hashing import ZERO_HASH
from consensus.transaction import TxOut, Witness
from node import mempool_errors as M
from node.mempool_policy import MempoolPolicy
from tests.unit.node.test_mempool_support import (
    ALICE,
    NOW,
    fund,
    make_pool,
    out,
    pay,
    pay_rate,
    snapshot,
)

TX_SIZE = 165  # about the size of a 1-input 1-output payment


def _probe_size() -> int:
    _, chain = make_pool()
    return pay_rate(fund(chain, 1), 2.0).size


def test_eviction_removes_the_lowest_descendant_score_package_and_raises_the_floor() -> None:
    size = _probe_size()
    pool, chain = make_pool(MempoolPolicy(max_bytes=int(size * 5.5)))
    coins = fund(chain, 6)
    a = pay_rate([coins[0]], 4.0)
    parent = pay_rate([coins[1]], 1.0)
    child = pay_rate([out(parent)], 3.0)
    b = pay_rate([coins[2]], 5.0)
    d = pay_rate([coins[3]], 10.0)
    for tx in (a, parent, child, b, d):
        pool.accept(tx, NOW)
    assert pool.min_fee_rate(NOW) == 0
    e = pay_rate([coins[4]], 20.0)
    result = pool.accept(e, NOW)
    assert set(result.evicted) == {parent.txid, child.txid}
    assert set(pool.txids()) == {a.txid, b.txid, d.txid, e.txid}
    package_rate = (parent.size + child.size * 3) / (parent.size + child.size)
    floor = pool.min_fee_rate(NOW)
    assert floor == pytest.approx(package_rate + 1, rel=0.02)
    pool.check()
    with pytest.raises(M.MempoolMinFeeNotMet) as info:
        pool.accept(pay_rate([coins[5]], floor - 0.3), NOW)
    assert info.value.code == "mempool_min_fee_not_met"
    assert isinstance(info.value, M.MinFeeNotMet)


def test_a_transaction_that_would_be_evicted_at_once_is_refused_and_nothing_changes() -> None:
    size = _probe_size()
    pool, chain = make_pool(MempoolPolicy(max_bytes=int(size * 3.5)))
    coins = fund(chain, 5)
    parent = pay_rate([coins[0]], 2.0, outputs=2)
    for tx in (parent, pay_rate([coins[1]], 6.0), pay_rate([coins[2]], 7.0)):
        pool.accept(tx, NOW)
    before = snapshot(pool)
    with pytest.raises(M.MempoolFull) as info:
        pool.accept(pay_rate([coins[3]], 1.5), NOW)
    assert info.value.code == "mempool_full"
    assert snapshot(pool) == before
    pool.check()
    # A child that lifts its parent's package is kept, and something cheaper goes instead.
    rich_child = pay_rate([out(parent, 0)], 50.0)
    result = pool.accept(rich_child, NOW)
    assert rich_child.txid in pool and parent.txid in pool and result.evicted
    pool.check()


def test_rolling_floor_decays_after_a_block() -> None:
    size = _probe_size()
    pool, chain = make_pool(MempoolPolicy(max_bytes=int(size * 2.5)))
    coins = fund(chain, 3)
    for rate in (2.0, 9.0, 10.0):
        pool.accept(pay_rate([coins[int(rate) % 3]], rate), NOW)
    floor = pool.min_fee_rate(NOW)
    assert floor == pytest.approx(3.0, rel=0.02)
    assert pool.min_fee_rate(NOW + 86_400) == floor  # no block yet: no decay
    block = assemble_block(ZERO_HASH, 501, NOW, 0x207FFFFF, [], [TxOut(1, ALICE.lock)])
    pool.block_connected(block, now=NOW + 100)
    half_life = 12 * 3600  # the mempool is over half full
    assert pool.min_fee_rate(NOW + 100 + half_life) == pytest.approx(floor / 2, rel=0.01)
    assert pool.min_fee_rate(NOW + 100 + 3 * half_life) == 0


def test_expiry_removes_old_transactions_with_their_descendants() -> None:
    pool, chain = make_pool(MempoolPolicy(expiry_seconds=1000))
    coins = fund(chain, 2)
    parent = pay([coins[0]], 5000)
    child = pay([out(parent)], 5000)
    other = pay([coins[1]], 5000)
    pool.accept(parent, NOW)
    pool.accept(child, NOW + 500)
    pool.accept(other, NOW + 900)
    assert pool.expire(NOW + 1000) == []
    assert set(pool.expire(NOW + 1001)) == {parent.txid, child.txid}
    assert pool.txids() == [other.txid]
    assert pool.expire(NOW + 1901) == [other.txid]
    assert pool.count == 0 and pool.bytes == 0
    pool.check()


def test_orphan_is_accepted_when_its_parent_arrives() -> None:
    pool, chain = make_pool()
    parent = pay(fund(chain, 1), 5000)
    child = pay([out(parent)], 5000)
    grandchild = pay([out(child)], 5000)
    assert pool.accept(grandchild, NOW).missing_parents == (child.txid,)
    assert pool.accept(child, NOW).orphan
    result = pool.accept(parent, NOW + 1)
    assert [r.txid for r in result.accepted_orphans] == [child.txid, grandchild.txid]
    assert result.accepted == [parent.txid, child.txid, grandchild.txid]
    assert len(pool.orphans) == 0 and pool.orphans.total_bytes == 0
    assert pool.count == 3
    pool.check()


def test_invalid_orphan_is_dropped_when_its_parent_arrives() -> None:
    pool, chain = make_pool()
    parent = pay(fund(chain, 1), 5000)
    child = pay([out(parent)], 5000)
    forged = child.with_witnesses((Witness(child.witnesses[0].pubkey, bytes(64)),))
    pool.accept(forged, NOW)
    assert forged.txid in pool.orphans
    result = pool.accept(parent, NOW)
    assert result.accepted_orphans == ()
    assert forged.txid not in pool.orphans and forged.txid not in pool


def test_orphan_pool_is_bounded_oldest_first() -> None:
    policy = MempoolPolicy(max_orphans=3, max_orphan_bytes=10 * TX_SIZE)
    pool, chain = make_pool(policy)
    parents = [pay(fund(chain, 1, tag=bytes([i])), 5000) for i in range(5)]
    orphans = [pay([out(p)], 5000) for p in parents]
    for i, orphan in enumerate(orphans):
        pool.accept(orphan, NOW + i)
    assert pool.orphans.txids() == [o.txid for o in orphans[2:]]
    pool2, _ = make_pool(MempoolPolicy(max_orphan_bytes=2 * orphans[0].size + 10))
    for i, orphan in enumerate(orphans):
        pool2.accept(orphan, NOW + i)
    assert pool2.orphans.txids() == [o.txid for o in orphans[3:]]
    assert pool2.orphans.total_bytes <= 2 * orphans[0].size + 10


def test_orphan_size_limit_and_expiry() -> None:
    pool, chain = make_pool(MempoolPolicy(max_orphan_tx_size=100, orphan_expiry_seconds=60))
    parent = pay(fund(chain, 1), 5000)
    with pytest.raises(M.OrphanTooLarge):
        pool.accept(pay([out(parent)], 5000), NOW)
    pool, chain = make_pool(MempoolPolicy(orphan_expiry_seconds=60))
    parent = pay(fund(chain, 1), 5000)
    orphan = pay([out(parent)], 5000)
    pool.accept(orphan, NOW)
    pool.expire(NOW + 59)
    assert orphan.txid in pool.orphans
    pool.expire(NOW + 60)
    assert orphan.txid not in pool.orphans


def test_orphans_conflicting_with_a_block_are_dropped() -> None:
    pool, chain = make_pool()
    parent = pay(fund(chain, 1), 5000, outputs=2)
    orphan = pay([out(parent, 0)], 5000)
    pool.accept(orphan, NOW)
    rival = pay([out(parent, 0)], 9000)
    block = assemble_block(ZERO_HASH, 501, NOW, 0x207FFFFF, [parent, rival], [TxOut(1, ALICE.lock)])
    pool.block_connected(block, height=501, now=NOW)
    assert len(pool.orphans) == 0


def test_consensus_failures_are_not_orphaned() -> None:
    pool, chain = make_pool()
    parent = pay(fund(chain, 1), 5000)
    with pytest.raises(E.NonFinalTransaction):
        pool.accept(pay([out(parent)], 5000, locktime=10_000), NOW)
    assert len(pool.orphans) == 0
