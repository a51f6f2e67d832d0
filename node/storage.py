"""SQLite storage of the chain: headers, block bodies, undo data, the UTXO set, the active
chain and a little metadata. Standard library sqlite3 in WAL mode with synchronous=NORMAL: a
commit is atomic and survives the process being killed at any instant; a power cut may lose
the last commits (never the database): the node then syncs those blocks again.

Every change of the active tip happens inside one SQLite transaction (``with store.write():``),
so a crash at any instant leaves the last complete tip. ``batch()`` puts many such writes in
one transaction (each a savepoint) where committing them one by one would cost more than the
work, as when storing blocks that arrive while syncing. May import consensus and stdlib.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import msgpack

from consensus.transaction import OutPoint
from consensus.utxo import BlockUndo, Coin

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS headers (
    hash BLOB PRIMARY KEY, height INTEGER NOT NULL, header BLOB NOT NULL,
    status INTEGER NOT NULL, seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blocks (hash BLOB PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS undo (hash BLOB PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS utxo (
    outpoint BLOB PRIMARY KEY, value INTEGER NOT NULL, lock BLOB NOT NULL,
    height INTEGER NOT NULL, coinbase INTEGER NOT NULL
) WITHOUT ROWID;
"""


class StorageError(Exception):
    """The database is missing, of another version or network, or inconsistent."""


class ChainStore:
    """Thin, typed access to the chain database. Not thread-safe: one owner thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=OFF")
        self.db.execute("PRAGMA cache_size=-32768")  # 32 MiB of page cache
        self.db.executescript(_SCHEMA)
        self._in_write = False
        self._batching = False
        self.written_bytes = 0  # block and undo bytes written since opening (node.prune)
        version = self.get_meta("schema_version")
        if version is None:
            with self.write():
                self.set_meta("schema_version", str(SCHEMA_VERSION).encode())
        elif int(version) != SCHEMA_VERSION:
            raise StorageError(f"database schema {int(version)} != supported {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for many ``write()`` blocks, committed together at the end; a
        ``write()`` that fails is rolled back alone (a savepoint), the others are kept."""
        with self.write():
            self._batching = True
            try:
                yield
            finally:
                self._batching = False

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        self.db.execute("SAVEPOINT part")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK TO part")
            self.db.execute("RELEASE part")
            raise
        self.db.execute("RELEASE part")

    @contextmanager
    def write(self) -> Iterator[None]:
        """One atomic transaction: committed on normal exit, rolled back on an exception.
        Inside ``batch()`` it is a savepoint of the batch's transaction instead."""
        if self._in_write:
            if not self._batching:
                raise RuntimeError("nested write transaction")
            with self._savepoint():
                yield
            return
        self._in_write = True
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")
        finally:
            self._in_write = False

    def reset_chainstate(self, genesis_hash: bytes, clear_status: int) -> None:
        """Forget the UTXO set and every undo record but genesis's, clear the ``clear_status``
        bits of every other header (the mark of blocks connected once), and put the tip back
        at genesis, in one transaction: opening the chain afterwards connects the stored
        blocks again (Core's ``-reindex-chainstate``). Headers and blocks are kept."""
        with self.write():
            self.db.execute("DELETE FROM utxo")
            self.db.execute("DELETE FROM undo WHERE hash != ?", (genesis_hash,))
            self.db.execute(
                "UPDATE headers SET status = status & ? WHERE hash != ?",
                (~clear_status, genesis_hash),
            )
            self.set_meta("tip", genesis_hash)

    # --- meta ---------------------------------------------------------------------------------
    def get_meta(self, key: str) -> bytes | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def set_meta(self, key: str, value: bytes) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # --- headers and bodies -------------------------------------------------------------------
    def put_header(
        self, block_hash: bytes, height: int, header: bytes, status: int, seq: int
    ) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO headers (hash, height, header, status, seq)"
            " VALUES (?, ?, ?, ?, ?)",
            (block_hash, height, header, status, seq),
        )

    def set_status(self, block_hash: bytes, status: int, seq: int) -> None:
        self.db.execute(
            "UPDATE headers SET status = ?, seq = ? WHERE hash = ?", (status, seq, block_hash)
        )

    def iter_headers(self) -> Iterator[tuple[bytes, int, bytes, int, int]]:
        """Every stored header as ``(hash, height, header, status, seq)``, parents first."""
        cursor = self.db.execute(
            "SELECT hash, height, header, status, seq FROM headers ORDER BY height"
        )
        for row in cursor:
            yield bytes(row[0]), row[1], bytes(row[2]), row[3], row[4]

    def put_block(self, block_hash: bytes, data: bytes) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO blocks (hash, data) VALUES (?, ?)", (block_hash, data)
        )
        self.written_bytes += len(data)

    def get_block(self, block_hash: bytes) -> bytes | None:
        row = self.db.execute("SELECT data FROM blocks WHERE hash = ?", (block_hash,)).fetchone()
        return None if row is None else bytes(row[0])

    def delete_block(self, block_hash: bytes) -> None:
        self.db.execute("DELETE FROM blocks WHERE hash = ?", (block_hash,))

    def put_undo(self, block_hash: bytes, undo: BlockUndo) -> None:
        data = msgpack.packb([[tuple(c) for c in coins] for coins in undo], use_bin_type=True)
        self.db.execute(
            "INSERT OR REPLACE INTO undo (hash, data) VALUES (?, ?)", (block_hash, data)
        )
        self.written_bytes += len(data)

    # --- pruning (node.prune) -----------------------------------------------------------------
    def stored_bytes(self) -> int:
        """The bytes of every stored block and undo record (what ``--prune`` bounds)."""
        total = 0
        for table in ("blocks", "undo"):
            row = self.db.execute(f"SELECT COALESCE(SUM(LENGTH(data)), 0) FROM {table}")
            total += int(row.fetchone()[0])
        return total

    def data_sizes(self, hashes: Sequence[bytes]) -> dict[bytes, int]:
        """The bytes the block and undo record of each of ``hashes`` take (absent: 0)."""
        sizes = dict.fromkeys(hashes, 0)
        for table in ("blocks", "undo"):
            for start in range(0, len(hashes), 500):
                chunk = hashes[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self.db.execute(
                    f"SELECT hash, LENGTH(data) FROM {table} WHERE hash IN ({marks})", chunk
                )
                for block_hash, size in rows:
                    sizes[bytes(block_hash)] += int(size)
        return sizes

    def prune(self, hashes: Sequence[bytes], pruned_height: int) -> None:
        """Delete the blocks and undo records of ``hashes`` and record ``pruned_height`` (every
        block at or below it is gone), in one transaction."""
        with self.write():
            rows = [(block_hash,) for block_hash in hashes]
            self.db.executemany("DELETE FROM blocks WHERE hash = ?", rows)
            self.db.executemany("DELETE FROM undo WHERE hash = ?", rows)
            self.set_meta("pruned_height", str(pruned_height).encode())

    def pruned_height(self) -> int:
        """The height at and below which blocks were pruned (0: nothing was)."""
        raw = self.get_meta("pruned_height")
        return 0 if raw is None else int(raw)

    def get_undo(self, block_hash: bytes) -> BlockUndo:
        row = self.db.execute("SELECT data FROM undo WHERE hash = ?", (block_hash,)).fetchone()
        if row is None:
            raise StorageError(f"no undo data for block {block_hash[::-1].hex()}")
        raw = msgpack.unpackb(bytes(row[0]), raw=False)
        return [[Coin(v, lock, h, bool(cb)) for v, lock, h, cb in coins] for coins in raw]

    # --- UTXO set -----------------------------------------------------------------------------
    def get_coin(self, key: bytes) -> Coin | None:
        row = self.db.execute(
            "SELECT value, lock, height, coinbase FROM utxo WHERE outpoint = ?", (key,)
        ).fetchone()
        return None if row is None else Coin(row[0], bytes(row[1]), row[2], bool(row[3]))

    def apply_coin_changes(self, changes: Iterable[tuple[OutPoint, Coin | None]]) -> None:
        deletes: list[tuple[bytes]] = []
        inserts: list[tuple[bytes, int, bytes, int, int]] = []
        for outpoint, coin in changes:
            if coin is None:
                deletes.append((outpoint.key(),))
            else:
                inserts.append(
                    (outpoint.key(), coin.value, coin.lock, coin.height, int(coin.coinbase))
                )
        if deletes:
            self.db.executemany("DELETE FROM utxo WHERE outpoint = ?", deletes)
        if inserts:
            self.db.executemany(
                "INSERT OR REPLACE INTO utxo (outpoint, value, lock, height, coinbase)"
                " VALUES (?, ?, ?, ?, ?)",
                inserts,
            )

    def iter_coins(self) -> Iterator[tuple[bytes, Coin]]:
        """Every unspent output in outpoint-key order."""
        return iter_coins(self.db)

    def coin_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM utxo").fetchone()[0])


def iter_coins(db: sqlite3.Connection) -> Iterator[tuple[bytes, Coin]]:
    """Every unspent output of the chain database ``db`` (any connection to it, e.g. a
    read-only snapshot, ``node.utxostats``) in outpoint-key order."""
    cursor = db.execute(
        "SELECT outpoint, value, lock, height, coinbase FROM utxo ORDER BY outpoint"
    )
    for key, value, lock, height, coinbase in cursor:
        yield bytes(key), Coin(value, bytes(lock), height, bool(coinbase))
