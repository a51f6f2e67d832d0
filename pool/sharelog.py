"""The pool's durable record: the share log and the payout ledger, in one SQLite database.

May import the standard library, structlog and ``pool.rewards``. WAL journal with
``synchronous=FULL``: a commit is on disk when it returns. Every accepted share is committed
before the miner hears "accepted" (:meth:`ShareLog.append` returns after the commit); shares
arriving together share one commit (group commit), so durability does not cap throughput at one
fsync per share.

A found block is recorded in the same transaction as the share that found it, with one credit
row per miner (``amount = paid + carry_delta``) and the block's raw bytes, *before* it is sent
to the node (status ``pending``). The block's hash is the primary key, so recording it twice is
a no-op. Carried balances are never stored as running totals: an address's carried balance is
the sum of its ``carry_delta`` over blocks whose status is live (``pending``, ``accepted``,
``confirmed``). Orphaning a block is one status change, which takes back exactly what it
credited; a crash at any instant leaves either the whole block or none of it.

All SQLite work runs on one thread owned by the log; the event loop never blocks on it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import structlog

from pool.rewards import Credit

T = TypeVar("T")
log = structlog.get_logger("seedchain.pool.sharelog")

LIVE_STATUSES = ("pending", "accepted", "confirmed")
BLOCK_STATUSES = ("pending", "accepted", "orphaned", "rejected", "confirmed")
SCHEMA_VERSION = "1"
LIVE_SQL = "('pending', 'accepted', 'confirmed')"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shares (
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,
    address TEXT NOT NULL,
    worker TEXT NOT NULL,
    difficulty REAL NOT NULL,
    work INTEGER NOT NULL,
    job_id TEXT NOT NULL,
    height INTEGER NOT NULL,
    hash TEXT NOT NULL,
    block INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS shares_by_address ON shares (address, id);
CREATE INDEX IF NOT EXISTS shares_by_time ON shares (time);
CREATE TABLE IF NOT EXISTS blocks (
    hash TEXT PRIMARY KEY,
    height INTEGER NOT NULL,
    share_id INTEGER NOT NULL,
    job_id TEXT NOT NULL,
    scheme TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    window_end INTEGER NOT NULL,
    reward INTEGER NOT NULL,
    operator TEXT NOT NULL,
    operator_amount INTEGER NOT NULL,
    operator_paid INTEGER NOT NULL,
    address TEXT NOT NULL,
    worker TEXT NOT NULL,
    status TEXT NOT NULL,
    found_time REAL NOT NULL,
    updated_time REAL NOT NULL,
    raw BLOB
);
CREATE INDEX IF NOT EXISTS blocks_by_height ON blocks (height);
CREATE TABLE IF NOT EXISTS credits (
    block_hash TEXT NOT NULL REFERENCES blocks (hash),
    address TEXT NOT NULL,
    amount INTEGER NOT NULL,
    paid INTEGER NOT NULL,
    carry_delta INTEGER NOT NULL,
    PRIMARY KEY (block_hash, address)
);
CREATE INDEX IF NOT EXISTS credits_by_address ON credits (address);
"""


@dataclass(frozen=True, slots=True)
class ShareRecord:
    time: float
    address: str
    worker: str
    difficulty: float  # the share difficulty (diff-1 units), for display
    work: int  # 2**256 // (share target + 1): what the schemes count
    job_id: str
    height: int
    hash: str  # header hash, display hex
    is_block: bool = False


@dataclass(frozen=True, slots=True)
class BlockRecord:
    hash: str
    height: int
    job_id: str
    scheme: str
    window_start: int  # the split counted shares with id in (window_start, window_end]
    window_end: int
    reward: int
    operator: str
    operator_amount: int
    operator_paid: int
    address: str  # the finder
    worker: str
    raw: bytes
    credits: tuple[Credit, ...]


@dataclass(frozen=True, slots=True)
class StoredShare:
    share_id: int
    record: ShareRecord


@dataclass
class _Pending:
    share: ShareRecord
    block: BlockRecord | None
    future: asyncio.Future[int]


class ShareLog:
    """The SQLite share log and ledger; :meth:`run` is its group-commit writer task."""

    def __init__(self, path: Path, *, max_batch: int = 2000, queue_size: int = 20_000) -> None:
        self.path = path
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue(queue_size)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pool-db")
        self._db: sqlite3.Connection | None = None
        self.listeners: list[Callable[[list[StoredShare]], None]] = []
        self._closed = False

    # --- the database thread ------------------------------------------------------------------
    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(db, *args)`` on the database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(self._conn(), *args))

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the share log is not open")
        return self._db

    async def open(self, network: str) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._open, network)

    def _open(self, network: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        db.executescript(SCHEMA)
        stored = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if stored.get("network", network) != network:
            db.close()
            raise ValueError(f"{self.path} holds a {stored['network']} pool, not {network}")
        db.execute("INSERT OR IGNORE INTO meta VALUES ('network', ?)", (network,))
        db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        self._db = db

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    async def aclose(self) -> None:
        """Fail what is still queued, close the database, stop the thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if not item.future.done():
                item.future.set_exception(RuntimeError("the share log is closed"))
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)

    # --- writing ------------------------------------------------------------------------------
    async def append(self, share: ShareRecord, block: BlockRecord | None = None) -> int:
        """Commit ``share`` (and the block it found, with its credits) and return its id.
        Returns only once the commit is durable."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(share, block, future))
        return await future

    async def run(self) -> None:
        """The writer: batches whatever is queued into one transaction; lasts until cancelled."""
        batch: list[_Pending] = []
        try:
            while True:
                batch = [await self._queue.get()]
                while len(batch) < self.max_batch and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                try:
                    ids = await self.call(_write_batch, [(p.share, p.block) for p in batch])
                except (sqlite3.Error, OSError) as exc:
                    log.error("share_log_write_failed", error=str(exc), shares=len(batch))
                    for item in batch:
                        if not item.future.done():
                            item.future.set_exception(exc)
                    continue
                stored = [StoredShare(i, p.share) for i, p in zip(ids, batch, strict=True)]
                for listener in self.listeners:
                    try:
                        listener(stored)
                    except Exception:  # the shares are durable: acknowledge them regardless
                        log.exception("share_listener_failed")
                for share_id, item in zip(ids, batch, strict=True):
                    if not item.future.done():
                        item.future.set_result(share_id)
        finally:
            for item in batch:  # cancelled mid-commit: nobody may take these as acknowledged
                if not item.future.done():
                    item.future.set_exception(RuntimeError("the share log is closed"))
            await self.aclose()

    async def set_block_status(self, block_hash: str, status: str, now: float) -> None:
        await self.call(_set_status, block_hash, status, now)


def _write_batch(
    db: sqlite3.Connection, items: Sequence[tuple[ShareRecord, BlockRecord | None]]
) -> list[int]:
    ids = []
    db.execute("BEGIN IMMEDIATE")
    try:
        for share, block in items:
            cursor = db.execute(
                "INSERT INTO shares (time, address, worker, difficulty, work, job_id, height,"
                " hash, block) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    share.time,
                    share.address,
                    share.worker,
                    share.difficulty,
                    share.work,
                    share.job_id,
                    share.height,
                    share.hash,
                    int(share.is_block),
                ),
            )
            share_id = cursor.lastrowid
            assert share_id is not None
            ids.append(share_id)
            if block is not None:
                _insert_block(db, block, share_id, share.time)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return ids


def _insert_block(db: sqlite3.Connection, block: BlockRecord, share_id: int, now: float) -> None:
    cursor = db.execute(
        "INSERT OR IGNORE INTO blocks (hash, height, share_id, job_id, scheme, window_start,"
        " window_end, reward, operator, operator_amount, operator_paid, address, worker, status,"
        " found_time, updated_time, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
        " 'pending', ?, ?, ?)",
        (
            block.hash,
            block.height,
            share_id,
            block.job_id,
            block.scheme,
            block.window_start,
            block.window_end,
            block.reward,
            block.operator,
            block.operator_amount,
            block.operator_paid,
            block.address,
            block.worker,
            now,
            now,
            block.raw,
        ),
    )
    if cursor.rowcount == 0:  # already recorded: never credit a block twice
        return
    db.executemany(
        "INSERT INTO credits (block_hash, address, amount, paid, carry_delta)"
        " VALUES (?, ?, ?, ?, ?)",
        [(block.hash, c.address, c.amount, c.paid, c.carry_delta) for c in block.credits],
    )


def _set_status(db: sqlite3.Connection, block_hash: str, status: str, now: float) -> None:
    if status not in BLOCK_STATUSES:
        raise ValueError(f"unknown block status {status!r}")
    keep_raw = status in ("pending", "accepted", "orphaned")
    db.execute(
        "UPDATE blocks SET status = ?, updated_time = ?"
        + ("" if keep_raw else ", raw = NULL")
        + " WHERE hash = ?",
        (status, now, block_hash),
    )


# --- reads (run through ShareLog.call) -----------------------------------------------------------
def carried_balances(db: sqlite3.Connection) -> dict[str, int]:
    """Each address's carried balance: its carry deltas over live blocks."""
    rows = db.execute(
        "SELECT c.address, SUM(c.carry_delta) FROM credits c JOIN blocks b ON b.hash ="
        f" c.block_hash WHERE b.status IN {LIVE_SQL} GROUP BY c.address"
    ).fetchall()
    return {address: int(total) for address, total in rows if total}


def round_start(db: sqlite3.Connection) -> int:
    """The share id after which the current PROP round starts: the newest live block's window
    end (0 before the first block)."""
    row = db.execute(f"SELECT MAX(window_end) FROM blocks WHERE status IN {LIVE_SQL}").fetchone()
    return int(row[0] or 0)


def max_share_id(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT COALESCE(MAX(id), 0) FROM shares").fetchone()[0])


def work_between(db: sqlite3.Connection, after_id: int, upto_id: int) -> dict[str, int]:
    """Work per address of the shares with ``after_id < id <= upto_id`` (summed in Python:
    SQLite's SUM would overflow 64 bits on large work values)."""
    totals: dict[str, int] = {}
    for address, work in db.execute(
        "SELECT address, work FROM shares WHERE id > ? AND id <= ?", (after_id, upto_id)
    ):
        totals[address] = totals.get(address, 0) + int(work)
    return totals


def newest_shares(db: sqlite3.Connection, before_id: int, limit: int) -> list[tuple[int, str, int]]:
    """Up to ``limit`` ``(id, address, work)`` with id < ``before_id``, newest first."""
    return db.execute(
        "SELECT id, address, work FROM shares WHERE id < ? ORDER BY id DESC LIMIT ?",
        (before_id, limit),
    ).fetchall()


def shares_since(db: sqlite3.Connection, since: float) -> list[tuple[float, str, str, int]]:
    """``(time, address, worker, work)`` of shares at or after ``since``, oldest first."""
    return db.execute(
        "SELECT time, address, worker, work FROM shares WHERE time >= ? ORDER BY id", (since,)
    ).fetchall()


def unsettled_blocks(
    db: sqlite3.Connection, min_orphan_height: int
) -> list[tuple[str, int, str, bytes | None]]:
    """``(hash, height, status, raw)`` of blocks whose fate may still change: pending and
    accepted ones, and orphaned ones from ``min_orphan_height`` up (a deeper orphan stays one)."""
    return db.execute(
        "SELECT hash, height, status, raw FROM blocks WHERE status IN ('pending', 'accepted')"
        " OR (status = 'orphaned' AND height >= ?) ORDER BY height",
        (min_orphan_height,),
    ).fetchall()
