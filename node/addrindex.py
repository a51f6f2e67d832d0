"""The address index: address (output lock) -> transactions and unspent outputs, in SQLite.

May import consensus, node.chain / node.blockindex / node.storage types, node.txindex and the
standard library. Its own database, ``<datadir>/index.sqlite`` (WAL), holds:

- ``address_tx``: one row per (lock, transaction) of the active chain, keyed by
  ``(lock, height, position)``, with what the transaction did to that lock (outputs funded,
  outputs spent, and their sums). ``(height, position)`` is the stable order that cursor
  paging walks, newest first.
- ``address_utxo``: the unspent outputs of each lock.
- ``address_stats``: running totals per lock (Esplora's ``chain_stats``).
- ``tx_location`` (``node.txindex``): txid -> block, height, position and byte range.
- ``spent_by`` (``node.spentindex``): outpoint -> the confirmed input that spent it.
- ``block_filter`` (``node.filterindex``): each block's compact filter and filter header.
- ``meta``: the network and the hash of the block the index is at (its own tip).

It is kept correct across reorgs by :meth:`AddressIndex.sync`, which walks from the index's
tip to the chain's tip through their fork, undoing blocks (with the chain's stored undo data)
and applying blocks, in one SQLite transaction per call. The node calls it from a chain
listener after every activation and, at start, in bounded steps until caught up. A tip the
chain does not know (a replaced chain database) or missing block data rebuilds the index from
genesis. Like the chain state, it is used only on the chain thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import structlog

from consensus.block import Block
from consensus.params import ChainParams
from consensus.transaction import OutPoint
from consensus.utxo import BlockUndo
from node import filterindex, spentindex, txindex
from node.blockindex import ChainEntry, find_fork
from node.chain import ChainState
from node.spentindex import Spender
from node.storage import StorageError
from node.txindex import TxLocation

log = structlog.get_logger("seedchain.addrindex")

INDEX_FILE = "index.sqlite"
SCHEMA_VERSION = b"3"  # 2: the spending index (node.spentindex); 3: block filters

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS address_tx (
    lock BLOB NOT NULL, height INTEGER NOT NULL, position INTEGER NOT NULL, txid BLOB NOT NULL,
    funded_count INTEGER NOT NULL, funded_sum INTEGER NOT NULL,
    spent_count INTEGER NOT NULL, spent_sum INTEGER NOT NULL,
    PRIMARY KEY (lock, height, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS address_utxo (
    lock BLOB NOT NULL, outpoint BLOB NOT NULL, value INTEGER NOT NULL,
    height INTEGER NOT NULL, coinbase INTEGER NOT NULL,
    PRIMARY KEY (lock, outpoint)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS address_stats (
    lock BLOB PRIMARY KEY, tx_count INTEGER NOT NULL,
    funded_count INTEGER NOT NULL, funded_sum INTEGER NOT NULL,
    spent_count INTEGER NOT NULL, spent_sum INTEGER NOT NULL
) WITHOUT ROWID;
"""
    + txindex.SCHEMA
    + spentindex.SCHEMA
    + filterindex.SCHEMA
)
_TABLES = ("address_tx", "address_utxo", "address_stats", "tx_location", "spent_by", "block_filter")


class AddressStats(NamedTuple):
    tx_count: int = 0
    funded_count: int = 0
    funded_sum: int = 0
    spent_count: int = 0
    spent_sum: int = 0


class HistoryItem(NamedTuple):
    height: int
    position: int
    txid: bytes


class IndexedUtxo(NamedTuple):
    outpoint: OutPoint
    value: int
    height: int
    coinbase: bool


# (lock, position) -> [funded_count, funded_sum, spent_count, spent_sum]
_Deltas = dict[tuple[bytes, int], list[int]]


class AddressIndex:
    """See the module docstring. Not thread-safe: one owner thread (the chain thread)."""

    def __init__(self, path: Path, params: ChainParams) -> None:
        self.path = path
        self.params = params
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # rebuildable: a lost commit is redone
        self.db.executescript(_SCHEMA)
        network = self._get_meta("network")
        version = self._get_meta("schema_version")
        if network not in (None, params.chain_id) or version not in (None, SCHEMA_VERSION):
            log.warning("address_index_reset", reason="other network or schema")
            self._wipe()
        with self._write():
            self._set_meta("network", params.chain_id)
            self._set_meta("schema_version", SCHEMA_VERSION)
        self._tip: bytes | None = self._get_meta("tip")

    @classmethod
    def open(cls, datadir: Path, params: ChainParams) -> AddressIndex:
        return cls(datadir / INDEX_FILE, params)

    def close(self) -> None:
        self.db.close()

    # --- keeping up with the chain --------------------------------------------------------
    @property
    def tip_hash(self) -> bytes | None:
        """The hash of the last block indexed (None before genesis is)."""
        return self._tip

    def is_synced(self, chain: ChainState) -> bool:
        return self._tip == chain.tip.hash

    def sync(
        self, chain: ChainState, max_blocks: int | None = None, max_outputs: int | None = None
    ) -> bool:
        """Move the index to the chain's tip: undo blocks back to the fork, then apply at most
        ``max_blocks`` blocks of the active chain, stopping early after the block that takes
        the outputs created and spent past ``max_outputs`` (a step's time follows its work, not
        its block count). One SQLite transaction. True when the index is at the chain's tip
        afterwards."""
        if self._tip == chain.tip.hash:
            return True
        try:
            return self._sync(chain, max_blocks, max_outputs)
        except StorageError as exc:  # block or undo data gone: start again from genesis
            log.warning("address_index_rebuild", error=str(exc))
            self._wipe()
            return self._sync(chain, max_blocks, max_outputs)

    def _sync(self, chain: ChainState, max_blocks: int | None, max_outputs: int | None) -> bool:
        target = chain.tip
        entry = chain.entries.get(self._tip) if self._tip is not None else None
        if self._tip is not None and entry is None:
            log.warning("address_index_rebuild", reason="tip unknown to the chain")
            self._wipe()
        with self._write():
            if entry is not None:
                fork = find_fork(entry, target)
                while entry is not fork:
                    assert entry is not None and entry.parent is not None
                    self._disconnect(chain, entry)
                    entry = entry.parent
            start = 0 if entry is None else entry.height + 1
            end = (
                target.height if max_blocks is None else min(target.height, start + max_blocks - 1)
            )
            outputs = 0
            for height in range(start, end + 1):
                connected = chain.entry_at(height)
                assert connected is not None
                outputs += self._connect(chain, connected)
                entry = connected
                if max_outputs is not None and outputs >= max_outputs:
                    break
            self._tip = None if entry is None else entry.hash
            if self._tip is None:
                self.db.execute("DELETE FROM meta WHERE key = 'tip'")
            else:
                self._set_meta("tip", self._tip)
        return self._tip == target.hash

    def _block_and_undo(self, chain: ChainState, entry: ChainEntry) -> tuple[Block, BlockUndo]:
        block = chain.get_block(entry.hash)
        if block is None:
            raise StorageError(f"block {entry.hash_hex} has no stored data")
        undo = chain.store.get_undo(entry.hash) if entry.height > 0 else []
        if len(undo) != len(block.transactions) - 1:
            raise StorageError(f"undo data of {entry.hash_hex} does not match the block")
        return block, undo

    def _connect(self, chain: ChainState, entry: ChainEntry) -> int:
        """Index one block; returns the outputs it created and spent."""
        block, undo = self._block_and_undo(chain, entry)
        height = entry.height
        txindex.add_block(self.db, block, height)
        spentindex.add_block(self.db, block, height)
        filterindex.add_block(self.db, entry.hash, height, block, undo)
        if height == 0:
            return 1  # the genesis coinbase is not in the UTXO set: no address owns it
        deltas, created, spent = _block_effects(block, undo)
        db = self.db
        db.executemany(
            "INSERT OR REPLACE INTO address_utxo (lock, outpoint, value, height, coinbase)"
            " VALUES (?, ?, ?, ?, ?)",
            [(lock, key, value, height, int(cb)) for lock, key, value, _, cb in created],
        )
        db.executemany(
            "DELETE FROM address_utxo WHERE lock = ? AND outpoint = ?",
            [(lock, key) for lock, key, _, _, _ in spent],
        )
        txids = [tx.txid for tx in block.transactions]
        db.executemany(
            "INSERT OR REPLACE INTO address_tx (lock, height, position, txid, funded_count,"
            " funded_sum, spent_count, spent_sum) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(lock, height, pos, txids[pos], *d) for (lock, pos), d in deltas.items()],
        )
        db.executemany(
            "INSERT INTO address_stats (lock, tx_count, funded_count, funded_sum, spent_count,"
            " spent_sum) VALUES (?, 1, ?, ?, ?, ?) ON CONFLICT (lock) DO UPDATE SET"
            " tx_count = tx_count + 1,"
            " funded_count = funded_count + excluded.funded_count,"
            " funded_sum = funded_sum + excluded.funded_sum,"
            " spent_count = spent_count + excluded.spent_count,"
            " spent_sum = spent_sum + excluded.spent_sum",
            [(lock, *d) for (lock, _), d in deltas.items()],
        )
        return len(created) + len(spent)

    def _disconnect(self, chain: ChainState, entry: ChainEntry) -> None:
        block, undo = self._block_and_undo(chain, entry)
        height = entry.height
        txindex.remove_block(self.db, block)
        spentindex.remove_block(self.db, block)
        filterindex.remove_block(self.db, entry.hash)
        if height == 0:
            return
        deltas, created, spent = _block_effects(block, undo)
        created_keys = {key for _, key, _, _, _ in created}
        db = self.db
        db.executemany(
            "DELETE FROM address_utxo WHERE lock = ? AND outpoint = ?",
            [(lock, key) for lock, key, _, _, _ in created],
        )
        db.executemany(
            "INSERT OR REPLACE INTO address_utxo (lock, outpoint, value, height, coinbase)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (lock, key, value, coin_height, int(cb))
                for lock, key, value, coin_height, cb in spent
                if key not in created_keys  # created and spent inside this block: gone
            ],
        )
        db.executemany(
            "DELETE FROM address_tx WHERE lock = ? AND height = ? AND position = ?",
            [(lock, height, pos) for lock, pos in deltas],
        )
        db.executemany(
            "UPDATE address_stats SET tx_count = tx_count - 1,"
            " funded_count = funded_count - ?, funded_sum = funded_sum - ?,"
            " spent_count = spent_count - ?, spent_sum = spent_sum - ? WHERE lock = ?",
            [(*d, lock) for (lock, _), d in deltas.items()],
        )
        db.executemany(
            "DELETE FROM address_stats WHERE lock = ? AND tx_count <= 0",
            [(lock,) for lock in {lock for lock, _ in deltas}],
        )

    # --- queries ------------------------------------------------------------------------------
    def stats(self, lock: bytes) -> AddressStats:
        row = self.db.execute(
            "SELECT tx_count, funded_count, funded_sum, spent_count, spent_sum"
            " FROM address_stats WHERE lock = ?",
            (lock,),
        ).fetchone()
        return AddressStats() if row is None else AddressStats(*row)

    def history(self, lock: bytes, before: tuple[int, int] | None, limit: int) -> list[HistoryItem]:
        """The lock's confirmed transactions, newest first, strictly before ``before``
        (``(height, position)``; None: from the newest)."""
        if before is None:
            rows = self.db.execute(
                "SELECT height, position, txid FROM address_tx WHERE lock = ?"
                " ORDER BY height DESC, position DESC LIMIT ?",
                (lock, limit),
            )
        else:
            rows = self.db.execute(
                "SELECT height, position, txid FROM address_tx"
                " WHERE lock = ? AND (height, position) < (?, ?)"
                " ORDER BY height DESC, position DESC LIMIT ?",
                (lock, before[0], before[1], limit),
            )
        return [HistoryItem(h, p, bytes(t)) for h, p, t in rows]

    def utxos(self, lock: bytes, limit: int) -> list[IndexedUtxo]:
        """Up to ``limit`` confirmed unspent outputs of the lock, newest first."""
        rows = self.db.execute(
            "SELECT outpoint, value, height, coinbase FROM address_utxo WHERE lock = ?"
            " ORDER BY height DESC, outpoint LIMIT ?",
            (lock, limit),
        )
        return [IndexedUtxo(OutPoint.from_key(bytes(k)), v, h, bool(c)) for k, v, h, c in rows]

    def tx_location(self, txid: bytes) -> TxLocation | None:
        return txindex.lookup(self.db, txid)

    def block_filter(self, block_hash: bytes) -> filterindex.BlockFilter | None:
        return filterindex.get(self.db, block_hash)

    def filter_headers(self, height: int, count: int) -> list[filterindex.BlockFilter]:
        return filterindex.headers_from(self.db, height, count)

    def block_filters(self, height: int, count: int) -> list[filterindex.BlockFilter]:
        return filterindex.filters_from(self.db, height, count)

    def spender(self, outpoint: OutPoint) -> Spender | None:
        """The confirmed input that spent ``outpoint`` on the active chain, if any."""
        return spentindex.lookup(self.db, outpoint)

    # --- internals ----------------------------------------------------------------------------
    def _get_meta(self, key: str) -> bytes | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def _set_meta(self, key: str, value: bytes) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def _wipe(self) -> None:
        with self._write():
            for table in _TABLES:
                self.db.execute(f"DELETE FROM {table}")  # fixed table names
            self.db.execute("DELETE FROM meta WHERE key = 'tip'")
        self._tip = None

    @contextmanager
    def _write(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            self._tip = self._get_meta("tip")
            raise
        self.db.execute("COMMIT")


def _block_effects(
    block: Block, undo: BlockUndo
) -> tuple[
    _Deltas, list[tuple[bytes, bytes, int, int, bool]], list[tuple[bytes, bytes, int, int, bool]]
]:
    """What a block does to addresses: per (lock, position) deltas, the outputs it creates and
    the coins it spends, each as ``(lock, outpoint key, value, height, coinbase)`` (height 0
    for created outputs: the caller knows the block's)."""
    deltas: _Deltas = {}
    created: list[tuple[bytes, bytes, int, int, bool]] = []
    spent: list[tuple[bytes, bytes, int, int, bool]] = []
    for position, tx in enumerate(block.transactions):
        txid = tx.txid
        coinbase = position == 0
        for vout, out in enumerate(tx.outputs):
            d = deltas.setdefault((out.lock, position), [0, 0, 0, 0])
            d[0] += 1
            d[1] += out.value
            created.append((out.lock, txid + vout.to_bytes(4, "big"), out.value, 0, coinbase))
        if coinbase:
            continue
        for outpoint, coin in zip(tx.inputs, undo[position - 1], strict=True):
            d = deltas.setdefault((coin.lock, position), [0, 0, 0, 0])
            d[2] += 1
            d[3] += coin.value
            spent.append((coin.lock, outpoint.key(), coin.value, coin.height, coin.coinbase))
    return deltas, created, spent
