"""A bounded pool of orphan transactions: transactions that spend outputs we do not know yet
(Bitcoin Core's ``TxOrphanage``), held until a parent arrives, they expire, or room is needed.

May import consensus and the standard library. Bounded in count, in total bytes and in the size
of each orphan. Deterministic: when full, the oldest orphan leaves (Core picks at random; we use
no randomness so that behaviour reproduces). Orphans are unverified (their inputs are unknown),
which is why the pool is small and short-lived.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import TypeVar

from consensus.block import Block
from consensus.transaction import OutPoint, Transaction
from node.mempool_errors import OrphanTooLarge

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Orphan:
    tx: Transaction
    time: int


class OrphanPool:
    """Orphans by txid, indexed by the outpoints and the parent txids they spend."""

    def __init__(
        self, max_count: int, max_bytes: int, max_tx_size: int, expiry_seconds: int
    ) -> None:
        self.max_count = max_count
        self.max_bytes = max_bytes
        self.max_tx_size = max_tx_size
        self.expiry_seconds = expiry_seconds
        self._orphans: dict[bytes, Orphan] = {}  # insertion order = age
        self._by_outpoint: dict[OutPoint, set[bytes]] = {}
        self._by_parent: dict[bytes, set[bytes]] = {}
        self.total_bytes = 0

    def __contains__(self, txid: object) -> bool:
        return txid in self._orphans

    def __len__(self) -> int:
        return len(self._orphans)

    def get(self, txid: bytes) -> Transaction | None:
        orphan = self._orphans.get(txid)
        return None if orphan is None else orphan.tx

    def txids(self) -> list[bytes]:
        return list(self._orphans)

    def add(self, tx: Transaction, now: int) -> list[bytes]:
        """Hold ``tx``; return the txids of the oldest orphans evicted to make room (possibly
        ``tx`` itself never: it is the newest). A txid already held is left as it is."""
        if tx.size > self.max_tx_size:
            raise OrphanTooLarge(f"orphan of {tx.size} bytes is over {self.max_tx_size}")
        txid = tx.txid
        if txid in self._orphans:
            return []
        self._orphans[txid] = Orphan(tx, now)
        self.total_bytes += tx.size
        for outpoint in tx.inputs:
            self._by_outpoint.setdefault(outpoint, set()).add(txid)
            self._by_parent.setdefault(outpoint.txid, set()).add(txid)
        evicted: list[bytes] = []
        while len(self._orphans) > self.max_count or self.total_bytes > self.max_bytes:
            oldest = next(iter(self._orphans))
            self.remove(oldest)
            evicted.append(oldest)
        return evicted

    def remove(self, txid: bytes) -> bool:
        orphan = self._orphans.pop(txid, None)
        if orphan is None:
            return False
        self.total_bytes -= orphan.tx.size
        for outpoint in orphan.tx.inputs:
            _discard(self._by_outpoint, outpoint, txid)
            _discard(self._by_parent, outpoint.txid, txid)
        return True

    def children_of(self, parent_txid: bytes) -> list[Transaction]:
        """Orphans that spend an output of ``parent_txid``, oldest first."""
        txids = self._by_parent.get(parent_txid)
        if not txids:
            return []
        found = [self._orphans[t] for t in txids]
        return [o.tx for o in sorted(found, key=lambda o: o.time)]

    def remove_for_block(self, block: Block) -> list[bytes]:
        """Drop orphans the block confirms or makes invalid by spending their inputs."""
        removed: list[bytes] = []
        for tx in block.transactions:
            if self.remove(tx.txid):
                removed.append(tx.txid)
            for outpoint in tx.inputs:
                for txid in list(self._by_outpoint.get(outpoint, ())):
                    self.remove(txid)
                    removed.append(txid)
        return removed

    def expire(self, now: int) -> list[bytes]:
        """Drop orphans held for ``expiry_seconds`` or longer."""
        expired = [
            txid for txid, o in self._orphans.items() if now - o.time >= self.expiry_seconds
        ]
        for txid in expired:
            self.remove(txid)
        return expired


def _discard(index: dict[K, set[bytes]], key: K, txid: bytes) -> None:
    txids = index.get(key)
    if txids is None:
        return
    txids.discard(txid)
    if not txids:
        del index[key]
