"""The coin cache's one budget: unwritten changes and clean coins share ``max_entries``; the
changes push clean coins out (never the reverse), a flush is due at ``max_dirty``, and a coin
created and spent between two flushes never reaches the store."""

from __future__ import annotations

from pathlib import Path

from consensus.transaction import OutPoint
from consensus.utxo import Coin
from node.coins import BYTES_PER_CACHED_COIN, DIRTY_SHARE, CoinCache
from node.storage import ChainStore


def outpoint(i: int) -> OutPoint:
    return OutPoint(i.to_bytes(32, "big"), 0)


def coin(i: int) -> Coin:
    return Coin(1000 + i, b"\x00" * 34, i, False)


def test_changes_and_clean_coins_share_one_budget(tmp_path: Path) -> None:
    store = ChainStore(tmp_path / "chain.sqlite")
    cache = CoinCache(store, max_bytes=2000 * BYTES_PER_CACHED_COIN)
    assert cache.max_entries == 2000 and cache.max_dirty == int(2000 * DIRTY_SHARE)
    with store.write():
        store.apply_coin_changes([(outpoint(i), coin(i)) for i in range(1500)])
    for i in range(1500):
        assert cache.get_coin(outpoint(i)) == coin(i)  # read through: now cached, clean
    assert len(cache) == 1500
    cache.apply([(outpoint(10_000 + i), coin(i)) for i in range(1200)])
    assert cache.dirty == 1200
    assert len(cache) == 800, "clean coins made room for the changes"
    assert cache.get_coin(outpoint(1499)) == coin(1499), "the most recently used stayed"
    # Spending a coin created since the last flush cancels both changes.
    cache.apply([(outpoint(10_000 + i), None) for i in range(200)])
    assert cache.dirty == 1000
    # Spending a stored coin is a change (a delete) until the flush.
    cache.apply([(outpoint(0), None)])
    assert cache.get_coin(outpoint(0)) is None and cache.dirty == 1001
    with store.write():
        store.apply_coin_changes(cache.unwritten())
    cache.flushed()
    assert cache.dirty == 0 and len(cache) <= cache.max_entries
    assert store.get_coin(outpoint(0).key()) is None
    assert store.get_coin(outpoint(10_000).key()) is None, "created and spent: never written"
    assert store.get_coin(outpoint(10_500).key()) == coin(500)
    store.close()
