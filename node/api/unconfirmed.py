"""What the mempool's transactions do to addresses, for the address endpoints.

May import consensus, node.mempool / node.addrindex types and the standard library. Runs on the
chain thread. The mempool keeps no address index of its own, so this one follows it lazily:
each query first diffs the mempool's txids against what it knows (set operations on the dict
keys, no Python loop over unchanged entries) and learns only the new transactions. A
transaction's effect depends only on its own bytes and the outputs it spends, which a txid
pins down, so what was learned stays true for as long as the txid is in the mempool.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from consensus.transaction import OutPoint
from consensus.utxo import CoinView
from node.addrindex import AddressStats
from node.mempool import Mempool, MempoolEntry


@dataclass(slots=True)
class _Effect:
    sequence: int  # mempool entry order: newest first in histories
    locks: dict[bytes, list[int]] = field(default_factory=dict)  # lock -> [fc, fs, sc, ss]
    outputs: list[tuple[bytes, int, int]] = field(default_factory=list)  # (lock, vout, value)


class UnconfirmedIndex:
    def __init__(self) -> None:
        self._effects: dict[bytes, _Effect] = {}
        self._by_lock: dict[bytes, set[bytes]] = {}

    def refresh(self, mempool: Mempool, coins: CoinView) -> None:
        entries = mempool.graph.entries
        effects = self._effects
        for txid in effects.keys() - entries.keys():
            self._forget(txid)
        for txid in entries.keys() - effects.keys():
            self._learn(entries[txid], entries, coins)

    def _learn(
        self, entry: MempoolEntry, entries: dict[bytes, MempoolEntry], coins: CoinView
    ) -> None:
        tx = entry.tx
        effect = _Effect(entry.sequence)
        for vout, out in enumerate(tx.outputs):
            d = effect.locks.setdefault(out.lock, [0, 0, 0, 0])
            d[0] += 1
            d[1] += out.value
            effect.outputs.append((out.lock, vout, out.value))
        for outpoint in tx.inputs:
            parent = entries.get(outpoint.txid)
            if parent is not None:
                if outpoint.vout >= len(parent.tx.outputs):
                    continue
                spent = parent.tx.outputs[outpoint.vout]
                lock, value = spent.lock, spent.value
            else:
                coin = coins.get_coin(outpoint)
                if coin is None:
                    continue
                lock, value = coin.lock, coin.value
            d = effect.locks.setdefault(lock, [0, 0, 0, 0])
            d[2] += 1
            d[3] += value
        self._effects[entry.txid] = effect
        for lock in effect.locks:
            self._by_lock.setdefault(lock, set()).add(entry.txid)

    def _forget(self, txid: bytes) -> None:
        effect = self._effects.pop(txid)
        for lock in effect.locks:
            txids = self._by_lock.get(lock)
            if txids is not None:
                txids.discard(txid)
                if not txids:
                    del self._by_lock[lock]

    # --- queries (after refresh) --------------------------------------------------------------
    def txids(self, lock: bytes) -> list[bytes]:
        """The mempool transactions touching ``lock``, newest first."""
        txids = self._by_lock.get(lock, ())
        return sorted(txids, key=lambda t: self._effects[t].sequence, reverse=True)

    def stats(self, lock: bytes) -> AddressStats:
        totals = [0, 0, 0, 0]
        txids = self._by_lock.get(lock, ())
        for txid in txids:
            for i, value in enumerate(self._effects[txid].locks[lock]):
                totals[i] += value
        return AddressStats(len(txids), *totals)

    def outputs(self, lock: bytes, mempool: Mempool) -> list[tuple[OutPoint, int]]:
        """Outputs to ``lock`` created by mempool transactions and not spent in the mempool."""
        found = []
        for txid in self.txids(lock):
            for out_lock, vout, value in self._effects[txid].outputs:
                outpoint = OutPoint(txid, vout)
                if out_lock == lock and mempool.spender_of(outpoint) is None:
                    found.append((outpoint, value))
        return found
