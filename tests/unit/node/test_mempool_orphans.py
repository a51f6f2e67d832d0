"""The orphan pool's fairness (node.mempool_orphans, as Core's orphanage since v29): a peer
flooding the pool evicts its own orphans, not the ones honest peers announced; an orphan
announced by several peers stays while one of them does; a disconnected peer's announcements
are forgotten; every index stays consistent."""

from __future__ import annotations

from consensus.transaction import Transaction
from node.mempool_policy import MempoolPolicy
from tests.unit.node.test_mempool_support import NOW, FakeChain, fund, make_pool, out, pay

HONEST, FLOODER, OTHER = "honest", "flooder", "other"


def _orphans(chain: FakeChain, n: int, tag: bytes) -> tuple[list[Transaction], list[Transaction]]:
    """``n`` orphans (children of parents the pool has not seen) and their parents."""
    parents = [pay(fund(chain, 1, tag=tag + bytes([i])), 5000) for i in range(n)]
    return [pay([out(p)], 5000) for p in parents], parents


def test_a_flooding_peer_evicts_its_own_orphans() -> None:
    pool, chain = make_pool(MempoolPolicy(max_orphans=10))
    honest, honest_parents = _orphans(chain, 3, b"h")
    flood, _ = _orphans(chain, 30, b"f")
    for i, tx in enumerate(honest):
        pool.accept(tx, NOW + i, HONEST)
    for i, tx in enumerate(flood):
        pool.accept(tx, NOW + 10 + i, FLOODER)
    pool.check()
    held = set(pool.orphans.txids())
    assert len(held) == 10
    assert {tx.txid for tx in honest} <= held  # oldest, yet kept
    assert held - {tx.txid for tx in honest} == {tx.txid for tx in flood[-7:]}
    # The honest orphans still resolve when their parents arrive.
    for parent, child in zip(honest_parents, honest, strict=True):
        result = pool.accept(parent, NOW + 100)
        assert [r.txid for r in result.accepted_orphans] == [child.txid]
    pool.check()


def test_the_byte_limit_is_shared_the_same_way() -> None:
    _, probe_chain = make_pool()
    size = _orphans(probe_chain, 1, b"p")[0][0].size
    pool, chain = make_pool(MempoolPolicy(max_orphan_bytes=6 * size))
    honest, _ = _orphans(chain, 2, b"h")
    flood, _ = _orphans(chain, 12, b"f")
    for tx in honest:
        pool.accept(tx, NOW, HONEST)
    for tx in flood:
        pool.accept(tx, NOW, FLOODER)
    pool.check()
    assert {tx.txid for tx in honest} <= set(pool.orphans.txids())
    assert len(pool.orphans) == 6 and pool.orphans.total_bytes <= 6 * size


def test_an_orphan_announced_twice_stays_while_one_announcer_does() -> None:
    pool, chain = make_pool(MempoolPolicy(max_orphans=4))
    shared, _ = _orphans(chain, 1, b"s")
    flood, _ = _orphans(chain, 6, b"f")
    pool.accept(shared[0], NOW, FLOODER)
    pool.accept(shared[0], NOW + 1, HONEST)
    assert pool.orphans.announcers(shared[0].txid) == [FLOODER, HONEST]
    for tx in flood:
        pool.accept(tx, NOW + 2, FLOODER)
    pool.check()
    assert shared[0].txid in pool.orphans  # the flooder's announcement went, the honest stays
    assert pool.orphans.announcers(shared[0].txid) == [HONEST]


def test_a_disconnected_peers_orphans_are_forgotten() -> None:
    pool, chain = make_pool()
    mine, _ = _orphans(chain, 3, b"m")
    theirs, _ = _orphans(chain, 2, b"t")
    for tx in mine:
        pool.accept(tx, NOW, FLOODER)
    for tx in theirs:
        pool.accept(tx, NOW, OTHER)
    pool.accept(mine[0], NOW, OTHER)  # OTHER announced one of FLOODER's too
    removed = pool.orphans.erase_for(FLOODER)
    pool.check()
    assert removed == [mine[1].txid, mine[2].txid]
    assert set(pool.orphans.txids()) == {mine[0].txid} | {tx.txid for tx in theirs}
    assert not pool.orphans.has_announcements(FLOODER)
    assert pool.orphans.erase_for(FLOODER) == []
    assert len(pool.orphans.erase_for(OTHER)) == 3 and len(pool.orphans) == 0
    pool.check()


def test_api_orphans_have_no_peer_and_keep_the_oldest_first_order() -> None:
    pool, chain = make_pool(MempoolPolicy(max_orphans=3))
    orphans, _ = _orphans(chain, 5, b"a")
    for i, tx in enumerate(orphans):
        pool.accept(tx, NOW + i)  # no announcer: this node's API
    assert pool.orphans.txids() == [tx.txid for tx in orphans[2:]]
    assert pool.orphans.announcers(orphans[4].txid) == [None]
    pool.check()
