"""The UTXO set as the chain sees it: SQLite underneath, a bounded in-memory read cache on top,
and the order-independent UTXO set hash. May import consensus, node.storage and stdlib.

The cache is write-through: changes reach SQLite inside the block's transaction first and the
cache only after the commit, so a crash can never leave the cache ahead of the database.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator

from consensus.transaction import OutPoint
from consensus.utxo import Coin
from node.storage import ChainStore

# A cached coin costs about 350 bytes of Python objects (key, tuple, ints, lock bytes).
BYTES_PER_CACHED_COIN = 350


class CoinCache:
    """``CoinView`` over the store with an LRU cache bounded to ``max_bytes``."""

    def __init__(self, store: ChainStore, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.store = store
        self.max_entries = max(1024, max_bytes // BYTES_PER_CACHED_COIN)
        self._cache: OrderedDict[OutPoint, Coin] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._cache)

    def get_coin(self, outpoint: OutPoint) -> Coin | None:
        coin = self._cache.get(outpoint)
        if coin is not None:
            self.hits += 1
            return coin
        self.misses += 1
        coin = self.store.get_coin(outpoint.key())
        if coin is not None:
            self._remember(outpoint, coin)
        return coin

    def _remember(self, outpoint: OutPoint, coin: Coin) -> None:
        cache = self._cache
        cache[outpoint] = coin
        if len(cache) > self.max_entries:
            for _ in range(len(cache) - self.max_entries):
                cache.popitem(last=False)

    def committed(self, changes: Iterable[tuple[OutPoint, Coin | None]]) -> None:
        """Bring the cache in line with changes that the store has just committed."""
        for outpoint, coin in changes:
            if coin is None:
                self._cache.pop(outpoint, None)
            else:
                self._remember(outpoint, coin)

    def clear(self) -> None:
        self._cache.clear()


def coin_record(key: bytes, coin: Coin) -> bytes:
    """The bytes of one coin in the UTXO set hash (stable across versions of the code)."""
    return (
        key
        + coin.value.to_bytes(8, "little")
        + coin.height.to_bytes(4, "little")
        + (b"\x01" if coin.coinbase else b"\x00")
        + len(coin.lock).to_bytes(2, "little")
        + coin.lock
    )


def utxo_set_hash(coins: Iterator[tuple[bytes, Coin]] | Iterable[tuple[bytes, Coin]]) -> bytes:
    """sha256 over every coin's record in outpoint-key order (``coins`` must come sorted)."""
    h = hashlib.sha256()
    for key, coin in coins:
        h.update(coin_record(key, coin))
    return h.digest()
