"""Pruning the share log (``seedchain pool --prune-shares N``): old shares are deleted, never a
share that a payout, an audit or the statistics may still read.

May import the standard library and ``pool`` modules. The share log otherwise grows by one row
per accepted share for ever. With ``--prune-shares N`` the pool deletes the shares whose id is at
most the *floor*, the lowest of:

* the window start of each of the newest ``N`` blocks the pool found, whatever their status, so
  ``seedchain audit --blocks N`` can still recompute them from ``GET /v1/pool/shares``;
* PROP: the current round's start as it would be if every block not yet confirmed were orphaned
  (the newest *confirmed* block's window end): an orphan moves the round's start back, and the
  round must still find its shares (a PPLNS window does not depend on the blocks before it);
* PPLNS: the oldest share the accounting keeps for windows of twice the largest one asked for
  (``Accounting.needed_after``), so a window made after the network's difficulty doubles still
  finds its shares;
* the window start of every job still valid for shares (``JobManager.oldest_window_start``): a
  block found on an older job records that job's window;
* the shares of the last ``KEEP_SECONDS`` (a day: what miners look at, and the hash-rate window);
* the newest share's id - 1: the table's ids come from SQLite's rowid, which restarts from the
  largest id left, so the newest row is never deleted and ids are never reused.

Shares go oldest first in batches of ``PRUNE_BATCH``, each batch one transaction that also
records ``pruned_upto`` in ``meta`` (every share with an id at or below it is gone): a crash
leaves a whole batch deleted or none of it. SQLite reuses the freed pages, so the file stops
growing rather than shrinking.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from pool.sharelog import max_share_id

PRUNE_BATCH = 10_000
KEEP_SECONDS = 86_400.0


@dataclass(frozen=True, slots=True)
class Needs:
    """What the running pool still needs beside the share log's own records."""

    keep_blocks: int  # the windows of this many newest blocks stay
    scheme: str
    needed_after: int | None  # shares with a greater id may enter a window (None: no limit)
    time_from: float  # shares at or after this time stay


def prune_floor(db: sqlite3.Connection, needs: Needs) -> int:
    """The greatest share id that may be deleted (0: none)."""
    candidates = [max_share_id(db) - 1]
    candidates += [
        int(start)
        for (start,) in db.execute(
            "SELECT window_start FROM blocks ORDER BY share_id DESC LIMIT ?", (needs.keep_blocks,)
        )
    ]
    if needs.scheme == "prop":
        (confirmed,) = db.execute(
            "SELECT MAX(window_end) FROM blocks WHERE status = 'confirmed'"
        ).fetchone()
        candidates.append(int(confirmed or 0))
    if needs.needed_after is not None:
        candidates.append(needs.needed_after)
    (recent,) = db.execute(
        "SELECT MIN(id) FROM shares WHERE time >= ?", (needs.time_from,)
    ).fetchone()
    if recent is not None:
        candidates.append(int(recent) - 1)
    return max(0, min(candidates))


def pruned_upto(db: sqlite3.Connection) -> int:
    """Every share with an id at or below this has been pruned (0: none)."""
    row = db.execute("SELECT value FROM meta WHERE key = 'pruned_upto'").fetchone()
    return 0 if row is None else int(row[0])


def prune_batch(db: sqlite3.Connection, floor: int, batch: int = PRUNE_BATCH) -> int:
    """Delete up to ``batch`` of the oldest shares with id <= ``floor`` in one transaction, and
    record how far the log is pruned; returns how many were deleted."""
    db.execute("BEGIN IMMEDIATE")
    try:
        ids = [
            int(share_id)
            for (share_id,) in db.execute(
                "SELECT id FROM shares WHERE id <= ? ORDER BY id LIMIT ?", (floor, batch)
            )
        ]
        if ids:
            db.execute("DELETE FROM shares WHERE id <= ?", (ids[-1],))
        reached = floor if len(ids) < batch else ids[-1]
        db.execute(
            "INSERT INTO meta VALUES ('pruned_upto', ?) ON CONFLICT (key) DO UPDATE SET value ="
            " MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
            (str(reached),),
        )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return len(ids)
