"""The UTXO set as the chain sees it: SQLite underneath, a bounded in-memory cache on top, and
the order-independent UTXO set hash. May import consensus, node.storage and stdlib.

Like Bitcoin Core's dbcache, the cache holds the changes of recently connected blocks that are
not yet written (``apply``): a sync writes the UTXO set in large sorted flushes instead of a
few rows per block, and a coin created and spent between two flushes never reaches the disk.
``flush`` writes them in the transaction that also moves the stored tip to the block they
belong to, so the database always holds the UTXO set of its stored tip; after a crash the node
connects its stored blocks after that tip again (their signatures are not checked twice).
Reorgs write through (``committed``, after the database's commit), with nothing left unwritten.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from operator import itemgetter

from consensus.transaction import OutPoint
from consensus.utxo import Coin
from node.storage import ChainStore

# A cached coin costs about 350 bytes of Python objects (key, tuple, ints, lock bytes).
BYTES_PER_CACHED_COIN = 350


# A flush is due once the unwritten changes take this share of the cache's entries.
DIRTY_SHARE = 0.9


class CoinCache:
    """``CoinView`` over the store with a cache bounded to ``max_bytes``: the unwritten changes
    and the clean coins (an LRU) share one budget of ``max_entries``. As in Bitcoin Core's
    dbcache, the changes may take nearly all of it (a flush is due at ``max_dirty``): clean
    coins are evicted to make room for them, never the other way round."""

    def __init__(self, store: ChainStore, max_bytes: int = 128 * 1024 * 1024) -> None:
        self.store = store
        self.max_entries = max(1024, max_bytes // BYTES_PER_CACHED_COIN)
        self.max_dirty = int(self.max_entries * DIRTY_SHARE)
        self._cache: OrderedDict[OutPoint, Coin] = OrderedDict()
        # Not yet written: the new coin, or None for one spent that the database still holds.
        self._dirty: dict[OutPoint, Coin | None] = {}
        self._fresh: set[OutPoint] = set()  # dirty coins the database has never held
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._cache)

    @property
    def dirty(self) -> int:
        """Changes waiting for ``flush``."""
        return len(self._dirty)

    def get_coin(self, outpoint: OutPoint) -> Coin | None:
        dirty = self._dirty
        if outpoint in dirty:
            return dirty[outpoint]
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
        self._evict()

    def _evict(self) -> None:
        """Drop the least recently used clean coins beyond what the changes leave room for."""
        cache = self._cache
        excess = len(cache) + len(self._dirty) - self.max_entries
        for _ in range(min(excess, len(cache))):
            cache.popitem(last=False)

    def apply(self, changes: Iterable[tuple[OutPoint, Coin | None]]) -> None:
        """Take a connected block's changes, to be written by a later ``flush``. Outpoints are
        unique, so a coin created here is one the database does not hold: spending it before
        the flush cancels both changes."""
        dirty, fresh, cache = self._dirty, self._fresh, self._cache
        for outpoint, coin in changes:
            if coin is not None:
                dirty[outpoint] = coin
                fresh.add(outpoint)
            elif outpoint in fresh:
                del dirty[outpoint]
                fresh.discard(outpoint)
            else:
                dirty[outpoint] = None
                cache.pop(outpoint, None)
        self._evict()

    def unwritten(self) -> list[tuple[OutPoint, Coin | None]]:
        """The changes a flush writes, in outpoint-key order (sorted keys touch fewer pages).
        ``OutPoint`` order is key order: the txid, then the vout (big-endian in the key)."""
        return sorted(self._dirty.items(), key=itemgetter(0))

    def flushed(self) -> None:
        """The store has committed ``unwritten()``: they become ordinary cached coins where
        the cache has room. They do not evict coins already cached: a flush writes a whole
        sync's worth of new outputs, which would push out the older coins that the next
        blocks are about to spend (reading each back from SQLite)."""
        cache, room = self._cache, self.max_entries - len(self._cache)
        for outpoint, coin in self._dirty.items():
            if room <= 0:
                break
            if coin is not None:
                cache[outpoint] = coin
                room -= 1
        self._dirty.clear()
        self._fresh.clear()

    def committed(self, changes: Iterable[tuple[OutPoint, Coin | None]]) -> None:
        """Bring the cache in line with changes that the store has just committed (only with
        nothing unwritten: a write-through change must not be overtaken by a stale one)."""
        assert not self._dirty, "flush before writing through"
        for outpoint, coin in changes:
            if coin is None:
                self._cache.pop(outpoint, None)
            else:
                self._remember(outpoint, coin)

    def clear(self) -> None:
        """Forget the clean cached coins (unwritten changes stay)."""
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
