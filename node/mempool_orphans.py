"""A bounded pool of orphan transactions: transactions that spend outputs we do not know yet
(Bitcoin Core's ``TxOrphanage``), held until a parent arrives, they expire, or room is needed.

May import consensus and the standard library. Bounded in count, in total bytes and in the size
of each orphan. Orphans are unverified (their inputs are unknown), which is why the pool is small
and short-lived.

Each orphan remembers who announced it (a peer, or ``None`` for this node's own API), as Core's
orphanage does since v29. When the pool is full, the announcer using the largest share of it
(the larger of its share of the count and of the bytes limit) loses its oldest announcement; an
orphan goes when no announcer is left. So a peer flooding the pool with orphans evicts its own,
not the ones honest peers are waiting on. ``erase_for(announcer)`` drops a disconnected peer's
announcements (Core's ``EraseForPeer``). Deterministic: no randomness, so behaviour reproduces.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import TypeVar

from consensus.block import Block
from consensus.transaction import OutPoint, Transaction
from node.mempool_errors import OrphanTooLarge
from node.txgraph import MempoolInconsistency

K = TypeVar("K", bound=Hashable)


@dataclass(slots=True)
class Orphan:
    tx: Transaction
    time: int
    announcers: list[Hashable]  # in the order they announced it


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
        # announcer -> its announcements, oldest first; and the bytes of the orphans announced
        self._announced: dict[Hashable, dict[bytes, None]] = {}
        self._announced_bytes: dict[Hashable, int] = {}
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

    def add(self, tx: Transaction, now: int, announcer: Hashable = None) -> list[bytes]:
        """Hold ``tx`` as announced by ``announcer``; return the txids of the orphans evicted to
        make room (see the module docstring: the heaviest announcer's oldest first). A txid
        already held only gains the announcer."""
        if tx.size > self.max_tx_size:
            raise OrphanTooLarge(f"orphan of {tx.size} bytes is over {self.max_tx_size}")
        txid = tx.txid
        held = self._orphans.get(txid)
        if held is not None:
            if announcer not in held.announcers:
                held.announcers.append(announcer)
                self._charge(announcer, txid, tx.size)
            return []
        self._orphans[txid] = Orphan(tx, now, [announcer])
        self._charge(announcer, txid, tx.size)
        self.total_bytes += tx.size
        for outpoint in tx.inputs:
            self._by_outpoint.setdefault(outpoint, set()).add(txid)
            self._by_parent.setdefault(outpoint.txid, set()).add(txid)
        evicted: list[bytes] = []
        while len(self._orphans) > self.max_count or self.total_bytes > self.max_bytes:
            heaviest = max(self._announced, key=self._share)
            oldest = next(iter(self._announced[heaviest]))
            if self._drop_announcement(heaviest, oldest):
                evicted.append(oldest)
        return evicted

    def erase_for(self, announcer: Hashable) -> list[bytes]:
        """Forget ``announcer``'s announcements (it disconnected); the orphans nobody else
        announced leave. Their txids."""
        removed: list[bytes] = []
        for txid in list(self._announced.get(announcer, ())):
            if self._drop_announcement(announcer, txid):
                removed.append(txid)
        return removed

    def announcers(self, txid: bytes) -> list[Hashable]:
        orphan = self._orphans.get(txid)
        return [] if orphan is None else list(orphan.announcers)

    def has_announcements(self, announcer: Hashable) -> bool:
        return announcer in self._announced

    def remove(self, txid: bytes) -> bool:
        orphan = self._orphans.pop(txid, None)
        if orphan is None:
            return False
        self.total_bytes -= orphan.tx.size
        for outpoint in orphan.tx.inputs:
            _discard(self._by_outpoint, outpoint, txid)
            _discard(self._by_parent, outpoint.txid, txid)
        for announcer in orphan.announcers:
            self._uncharge(announcer, txid, orphan.tx.size)
        return True

    def _share(self, announcer: Hashable) -> float:
        """How much of the pool ``announcer`` uses: the larger of its share of either limit."""
        count = len(self._announced[announcer])
        return max(count / self.max_count, self._announced_bytes[announcer] / self.max_bytes)

    def _charge(self, announcer: Hashable, txid: bytes, size: int) -> None:
        self._announced.setdefault(announcer, {})[txid] = None
        self._announced_bytes[announcer] = self._announced_bytes.get(announcer, 0) + size

    def _uncharge(self, announcer: Hashable, txid: bytes, size: int) -> None:
        announced = self._announced[announcer]
        del announced[txid]
        if announced:
            self._announced_bytes[announcer] -= size
        else:
            del self._announced[announcer]
            del self._announced_bytes[announcer]

    def _drop_announcement(self, announcer: Hashable, txid: bytes) -> bool:
        """Remove one announcement; the orphan too if it was the last. True if it went."""
        orphan = self._orphans[txid]
        if len(orphan.announcers) == 1:
            return self.remove(txid)
        orphan.announcers.remove(announcer)
        self._uncharge(announcer, txid, orphan.tx.size)
        return False

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

    def check(self) -> None:
        """Verify the indexes against the orphans (tests; raises MempoolInconsistency)."""
        _expect(self.total_bytes == sum(o.tx.size for o in self._orphans.values()), "bytes")
        charged: dict[Hashable, set[bytes]] = {}
        for txid, orphan in self._orphans.items():
            unique = len(set(orphan.announcers)) == len(orphan.announcers)
            _expect(bool(orphan.announcers) and unique, f"announcers of {txid.hex()}")
            for announcer in orphan.announcers:
                charged.setdefault(announcer, set()).add(txid)
        _expect(charged == {a: set(t) for a, t in self._announced.items()}, "announcements")
        for announcer, txids in self._announced.items():
            size = sum(self._orphans[t].tx.size for t in txids)
            _expect(self._announced_bytes[announcer] == size, f"bytes of {announcer!r}")


def _discard(index: dict[K, set[bytes]], key: K, txid: bytes) -> None:
    txids = index.get(key)
    if txids is None:
        return
    txids.discard(txid)
    if not txids:
        del index[key]


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise MempoolInconsistency(f"orphan pool: {message}")
