"""Per-peer "known inventory" and announcement batching.

Standard library and ``p2p.messages`` only. Each peer keeps a bounded LRU set of the hashes it
is known to have (it announced them, sent them, or we sent or announced them to it), so relay
never echoes an item to the peer it came from and never announces an item twice.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence

from p2p.messages import MAX_INV_ITEMS, Inv, InvItem

DEFAULT_KNOWN_INVENTORY = 50_000


class KnownInventory:
    """A bounded set of hashes with least-recently-seen eviction."""

    def __init__(self, capacity: int = DEFAULT_KNOWN_INVENTORY) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self._capacity = capacity
        self._hashes: OrderedDict[bytes, None] = OrderedDict()

    @property
    def capacity(self) -> int:
        return self._capacity

    def add(self, hash_: bytes) -> bool:
        """Mark ``hash_`` known; True if it was not known before."""
        if hash_ in self._hashes:
            self._hashes.move_to_end(hash_)
            return False
        self._hashes[hash_] = None
        if len(self._hashes) > self._capacity:
            self._hashes.popitem(last=False)
        return True

    def update(self, hashes: Iterable[bytes]) -> None:
        for hash_ in hashes:
            self.add(hash_)

    def filter_new(self, items: Iterable[InvItem]) -> list[InvItem]:
        """The items not yet known (in order, without duplicates), marking them known."""
        return [item for item in items if self.add(item.hash)]

    def discard(self, hash_: bytes) -> None:
        self._hashes.pop(hash_, None)

    def __contains__(self, hash_: object) -> bool:
        return hash_ in self._hashes

    def __len__(self) -> int:
        return len(self._hashes)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._hashes)


def batch_inventory(items: Sequence[InvItem], batch_size: int = MAX_INV_ITEMS) -> list[Inv]:
    """Split ``items`` into ``inv`` messages of at most ``batch_size`` items each."""
    if not 0 < batch_size <= MAX_INV_ITEMS:
        raise ValueError(f"batch_size must be 1..{MAX_INV_ITEMS}")
    return [Inv(tuple(items[i : i + batch_size])) for i in range(0, len(items), batch_size)]


class AnnouncementQueue:
    """Items waiting to be announced to one peer, drained in ``inv`` batches.

    Bounded: past ``capacity`` the oldest pending announcement is dropped (the peer can still
    learn the item from another peer or by asking for the mempool). Items the peer already
    knows are skipped when queued and again when drained.
    """

    def __init__(self, known: KnownInventory, capacity: int = MAX_INV_ITEMS) -> None:
        self._known = known
        self._capacity = capacity
        self._pending: OrderedDict[bytes, InvItem] = OrderedDict()

    def push(self, items: Iterable[InvItem]) -> None:
        for item in items:
            if item.hash in self._known or item.hash in self._pending:
                continue
            self._pending[item.hash] = item
            if len(self._pending) > self._capacity:
                self._pending.popitem(last=False)

    def drain(self, batch_size: int = MAX_INV_ITEMS) -> list[Inv]:
        """All pending items the peer does not know yet, as ``inv`` messages (marked known)."""
        items = self._known.filter_new(self._pending.values())
        self._pending.clear()
        return batch_inventory(items, batch_size)

    def __len__(self) -> int:
        return len(self._pending)
