"""The mempool's transaction graph: entries, who spends what, parent/child links and the cached
ancestor and descendant totals that fee-rate decisions read (Bitcoin Core's ``CTxMemPool``
indexes, without the multi-index container).

May import consensus and the standard library. It knows nothing of validity or policy: the
mempool validates, then calls ``add``; it decides what leaves, then calls ``remove``.

Invariants (``check`` verifies them all, for tests):
- ``spenders`` maps every input of every entry to that entry's txid, and nothing else;
- ``parents`` of an entry are the entries whose outputs it spends; ``children`` the reverse;
- ``ancestor_*`` / ``descendant_*`` are the count, size and *modified* fees (``fee + delta``:
  Core's ``prioritisetransaction`` delta) of the entry together with all its ancestors /
  descendants: what mining selection and eviction rank by;
- ``total_size`` / ``total_fees`` are the sums of the entries' sizes / real fees.

Eviction and expiry use heaps with lazy deletion: every change to an entry's descendant score
pushes a fresh item stamped with a new number and older items for it are skipped when popped.
The heaps are rebuilt when stale items outnumber live ones, so they stay O(entries).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

from consensus.transaction import OutPoint, Transaction

COMPACT_SLACK = 1024


class MempoolInconsistency(RuntimeError):
    """An internal index disagrees with the entries (a bug; raised only by ``check``)."""


@dataclass(slots=True, eq=False)
class MempoolEntry:
    """A transaction in the mempool with what the mempool knows about it."""

    tx: Transaction
    txid: bytes
    fee: int
    size: int
    time: int  # when it entered (the ``now`` given to ``accept``)
    height: int  # the chain tip's height when it entered
    sequence: int  # entry order, unique; later entries break score ties first
    parents: set[bytes] = field(default_factory=set)
    children: set[bytes] = field(default_factory=set)
    ancestor_count: int = 1
    ancestor_size: int = 0
    ancestor_fees: int = 0
    descendant_count: int = 1
    descendant_size: int = 0
    descendant_fees: int = 0
    score_stamp: int = 0
    delta: int = 0  # prioritisetransaction's fee delta: counted for ranking, never paid

    @property
    def modified_fee(self) -> int:
        return self.fee + self.delta

    @property
    def fee_rate(self) -> float:
        return self.fee / self.size

    @property
    def ancestor_fee_rate(self) -> float:
        return self.ancestor_fees / self.ancestor_size

    @property
    def descendant_score(self) -> float:
        """Bitcoin Core's eviction score: the higher of its own and its package's fee-rate."""
        return max((self.fee + self.delta) / self.size, self.descendant_fees / self.descendant_size)


class TxGraph:
    """Entries by txid, the outpoints they spend, their links and package totals."""

    def __init__(self) -> None:
        self.entries: dict[bytes, MempoolEntry] = {}
        self.spenders: dict[OutPoint, bytes] = {}
        self.total_size = 0
        self.total_fees = 0
        self._stamp = 0
        self._score_heap: list[tuple[float, int, int, bytes]] = []
        self._time_heap: list[tuple[int, int, bytes]] = []

    # --- walks --------------------------------------------------------------------------------
    def ancestors(self, txid: bytes) -> set[bytes]:
        """Every in-mempool ancestor of ``txid`` (not itself)."""
        return self.ancestors_of(self.entries[txid].parents)

    def ancestors_of(self, parents: Iterable[bytes], limit: int | None = None) -> set[bytes]:
        """``parents`` and all their ancestors. With ``limit``, the walk stops as soon as the
        set holds more than ``limit`` txids (the caller only needs to know it is too many)."""
        entries = self.entries
        found = set(parents)
        stack = list(found)
        while stack:
            for parent in entries[stack.pop()].parents:
                if parent not in found:
                    found.add(parent)
                    stack.append(parent)
            if limit is not None and len(found) > limit:
                break
        return found

    def descendants(self, txid: bytes) -> set[bytes]:
        """Every in-mempool descendant of ``txid`` (not itself)."""
        entries = self.entries
        found: set[bytes] = set()
        stack = [txid]
        while stack:
            for child in entries[stack.pop()].children:
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found

    def with_descendants(self, txids: Iterable[bytes]) -> set[bytes]:
        """``txids`` (those in the mempool) together with all their descendants."""
        result: set[bytes] = set()
        for txid in txids:
            if txid in self.entries and txid not in result:
                result.add(txid)
                result |= self.descendants(txid)
        return result

    # --- changes ------------------------------------------------------------------------------
    def add(
        self,
        entry: MempoolEntry,
        parents: set[bytes] | None = None,
        ancestors: set[bytes] | None = None,
        link_children: bool = False,
    ) -> None:
        """Insert ``entry`` (its inputs must not be spent by another entry). ``parents`` and
        ``ancestors``, when the caller has already found them, save the lookups (they must be
        exact). ``link_children`` also links entries that already spend this one's outputs (a
        transaction returning from a disconnected block); a newly relayed one cannot have any."""
        entries = self.entries
        txid = entry.txid
        tx = entry.tx
        if parents is None:
            parents = {op.txid for op in tx.inputs if op.txid in entries}
        entry.parents = parents
        entry.children = set()
        entries[txid] = entry
        spenders = self.spenders
        for outpoint in tx.inputs:
            spenders[outpoint] = txid
        for parent in entry.parents:
            entries[parent].children.add(txid)
        self.total_size += entry.size
        self.total_fees += entry.fee
        if link_children:
            for index in range(len(tx.outputs)):
                child = spenders.get(OutPoint(txid, index))
                if child is not None:
                    entry.children.add(child)
                    entries[child].parents.add(txid)
        heapq.heappush(self._time_heap, (entry.time, entry.sequence, txid))
        if entry.children:
            affected = self.ancestors(txid) | self.descendants(txid)
            affected.add(txid)
            for other in affected:
                self._recompute(entries[other])
            return
        if ancestors is None:
            ancestors = self.ancestors_of(entry.parents)
        modified = entry.fee + entry.delta
        count, size, fees = 1, entry.size, modified
        for ancestor_txid in ancestors:
            ancestor = entries[ancestor_txid]
            count += 1
            size += ancestor.size
            fees += ancestor.fee + ancestor.delta
            ancestor.descendant_count += 1
            ancestor.descendant_size += entry.size
            ancestor.descendant_fees += modified
            self._push_score(ancestor)
        entry.ancestor_count, entry.ancestor_size, entry.ancestor_fees = count, size, fees
        entry.descendant_count, entry.descendant_size = 1, entry.size
        entry.descendant_fees = modified
        self._push_score(entry)
        self._maybe_compact()

    def remove(self, doomed: set[bytes]) -> list[MempoolEntry]:
        """Remove the entries in ``doomed`` and return them parents first. Entries that stay
        have their totals updated (a confirmed transaction may leave its children behind)."""
        entries = self.entries
        removed = [entries[txid] for txid in doomed]
        for entry in removed:
            modified = entry.fee + entry.delta
            for ancestor_txid in self.ancestors(entry.txid):
                if ancestor_txid not in doomed:
                    ancestor = entries[ancestor_txid]
                    ancestor.descendant_count -= 1
                    ancestor.descendant_size -= entry.size
                    ancestor.descendant_fees -= modified
                    self._push_score(ancestor)
            if not entry.children:
                continue
            for descendant_txid in self.descendants(entry.txid):
                if descendant_txid not in doomed:
                    descendant = entries[descendant_txid]
                    descendant.ancestor_count -= 1
                    descendant.ancestor_size -= entry.size
                    descendant.ancestor_fees -= modified
        spenders = self.spenders
        for entry in removed:
            txid = entry.txid
            for parent in entry.parents:
                if parent not in doomed:
                    entries[parent].children.discard(txid)
            for child in entry.children:
                if child not in doomed:
                    entries[child].parents.discard(txid)
            for outpoint in entry.tx.inputs:
                del spenders[outpoint]
            del entries[txid]
            self.total_size -= entry.size
            self.total_fees -= entry.fee
        removed.sort(key=lambda e: (e.ancestor_count, e.sequence))
        self._maybe_compact()
        return removed

    def add_delta(self, txid: bytes, delta: int) -> None:
        """Add ``delta`` to the modified fee of the entry ``txid`` and to the package totals
        that count it (its ancestors' descendant fees, its descendants' ancestor fees)."""
        entries = self.entries
        entry = entries[txid]
        entry.delta += delta
        entry.ancestor_fees += delta
        entry.descendant_fees += delta
        self._push_score(entry)
        for ancestor_txid in self.ancestors(txid):
            ancestor = entries[ancestor_txid]
            ancestor.descendant_fees += delta
            self._push_score(ancestor)
        for descendant_txid in self.descendants(txid):
            entries[descendant_txid].ancestor_fees += delta

    # --- heaps --------------------------------------------------------------------------------
    def lowest_score(self) -> MempoolEntry | None:
        """The entry with the lowest descendant score (the next to evict), or None if empty.
        Ties go to the newest entry."""
        heap = self._score_heap
        entries = self.entries
        while heap:
            _, _, stamp, txid = heap[0]
            entry = entries.get(txid)
            if entry is not None and entry.score_stamp == stamp:
                return entry
            heapq.heappop(heap)
        return None

    def entered_before(self, cutoff: int) -> list[bytes]:
        """Txids of entries whose time is before ``cutoff`` (their heap items are consumed)."""
        heap = self._time_heap
        entries = self.entries
        found: list[bytes] = []
        while heap and heap[0][0] < cutoff:
            _, sequence, txid = heapq.heappop(heap)
            entry = entries.get(txid)
            if entry is not None and entry.sequence == sequence:
                found.append(txid)
        return found

    def _push_score(self, entry: MempoolEntry) -> None:
        self._stamp += 1
        entry.score_stamp = self._stamp
        heapq.heappush(
            self._score_heap, (entry.descendant_score, -entry.sequence, self._stamp, entry.txid)
        )

    def _maybe_compact(self) -> None:
        live = len(self.entries)
        if len(self._score_heap) > 2 * live + COMPACT_SLACK:
            self._score_heap = []
            for entry in self.entries.values():
                self._stamp += 1
                entry.score_stamp = self._stamp
                self._score_heap.append(
                    (entry.descendant_score, -entry.sequence, self._stamp, entry.txid)
                )
            heapq.heapify(self._score_heap)
        if len(self._time_heap) > 2 * live + COMPACT_SLACK:
            self._time_heap = [(e.time, e.sequence, e.txid) for e in self.entries.values()]
            heapq.heapify(self._time_heap)

    def _recompute(self, entry: MempoolEntry) -> None:
        """Set ``entry``'s totals from a fresh walk (after links changed in the middle)."""
        entries = self.entries
        ancestors = [entries[t] for t in self.ancestors(entry.txid)]
        entry.ancestor_count = 1 + len(ancestors)
        entry.ancestor_size = entry.size + sum(a.size for a in ancestors)
        entry.ancestor_fees = entry.fee + entry.delta + sum(a.fee + a.delta for a in ancestors)
        descendants = [entries[t] for t in self.descendants(entry.txid)]
        entry.descendant_count = 1 + len(descendants)
        entry.descendant_size = entry.size + sum(d.size for d in descendants)
        entry.descendant_fees = entry.fee + entry.delta + sum(d.fee + d.delta for d in descendants)
        self._push_score(entry)

    # --- self-check ---------------------------------------------------------------------------
    def check(self) -> None:
        """Recompute every index from the entries alone and compare (O(n * chain); tests)."""
        entries = self.entries
        spenders: dict[OutPoint, bytes] = {}
        for txid, entry in entries.items():
            _expect(entry.txid == txid == entry.tx.txid, f"{txid.hex()} keyed wrongly")
            for outpoint in entry.tx.inputs:
                _expect(outpoint not in spenders, f"{outpoint} spent twice in the mempool")
                spenders[outpoint] = txid
        _expect(spenders == self.spenders, "spenders index differs")
        children: dict[bytes, set[bytes]] = {txid: set() for txid in entries}
        for txid, entry in entries.items():
            parents = {op.txid for op in entry.tx.inputs if op.txid in entries}
            _expect(entry.parents == parents, f"{txid.hex()} parents differ")
            for parent in parents:
                children[parent].add(txid)
        for txid, entry in entries.items():
            _expect(entry.children == children[txid], f"{txid.hex()} children differ")
        for txid, entry in entries.items():
            ancestors = [entries[t] for t in self.ancestors(txid)]
            _expect(txid not in self.ancestors(txid), f"{txid.hex()} is its own ancestor")
            expected = (
                1 + len(ancestors),
                entry.size + sum(a.size for a in ancestors),
                entry.fee + entry.delta + sum(a.fee + a.delta for a in ancestors),
            )
            actual = (entry.ancestor_count, entry.ancestor_size, entry.ancestor_fees)
            _expect(actual == expected, f"{txid.hex()} ancestor totals {actual} != {expected}")
            descendants = [entries[t] for t in self.descendants(txid)]
            expected = (
                1 + len(descendants),
                entry.size + sum(d.size for d in descendants),
                entry.fee + entry.delta + sum(d.fee + d.delta for d in descendants),
            )
            actual = (entry.descendant_count, entry.descendant_size, entry.descendant_fees)
            _expect(actual == expected, f"{txid.hex()} descendant totals {actual} != {expected}")
        total = sum(e.size for e in entries.values())
        _expect(total == self.total_size, f"total size {self.total_size} != {total}")
        fees = sum(e.fee for e in entries.values())
        _expect(fees == self.total_fees, f"total fees {self.total_fees} != {fees}")
        live_scores = {
            (stamp, txid) for _, _, stamp, txid in self._score_heap if txid in entries
        }
        for txid, entry in entries.items():
            _expect((entry.score_stamp, txid) in live_scores, f"{txid.hex()} not in score heap")


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise MempoolInconsistency(message)
