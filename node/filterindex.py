"""The block filter index: each active-chain block's basic filter and filter header
(``node.blockfilter``; Bitcoin Core's ``-blockfilterindex``).

May import consensus, node.blockfilter, node.storage and the standard library (sqlite3). It is
one table of the node's index database (``<datadir>/index.sqlite``), which
``node.addrindex.AddressIndex`` owns and keeps in step with the chain (connecting and
disconnecting blocks in its transactions); this module knows the table and reads it back.
"""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

from consensus.block import Block
from consensus.utxo import BlockUndo
from node.blockfilter import GENESIS_PREV_HEADER, block_elements, build_filter, filter_header
from node.storage import StorageError

SCHEMA = """
CREATE TABLE IF NOT EXISTS block_filter (
    block_hash BLOB PRIMARY KEY, height INTEGER NOT NULL UNIQUE, filter BLOB NOT NULL,
    header BLOB NOT NULL
) WITHOUT ROWID;
"""


class BlockFilter(NamedTuple):
    block_hash: bytes
    height: int
    filter: bytes
    header: bytes


def add_block(
    db: sqlite3.Connection, block_hash: bytes, height: int, block: Block, undo: BlockUndo
) -> None:
    """Store the block's filter and header; the previous block's must be stored already."""
    if height == 0:
        previous = GENESIS_PREV_HEADER
    else:
        row = db.execute(
            "SELECT header FROM block_filter WHERE block_hash = ?", (block.header.prev_hash,)
        ).fetchone()
        if row is None:
            raise StorageError(f"no filter header for the parent of block at height {height}")
        previous = bytes(row[0])
    data = build_filter(block_hash, block_elements(block, undo))
    db.execute(
        "INSERT OR REPLACE INTO block_filter (block_hash, height, filter, header)"
        " VALUES (?, ?, ?, ?)",
        (block_hash, height, data, filter_header(data, previous)),
    )


def remove_block(db: sqlite3.Connection, block_hash: bytes) -> None:
    db.execute("DELETE FROM block_filter WHERE block_hash = ?", (block_hash,))


def get(db: sqlite3.Connection, block_hash: bytes) -> BlockFilter | None:
    row = db.execute(
        "SELECT block_hash, height, filter, header FROM block_filter WHERE block_hash = ?",
        (block_hash,),
    ).fetchone()
    return None if row is None else BlockFilter(bytes(row[0]), row[1], bytes(row[2]), bytes(row[3]))


def headers_from(db: sqlite3.Connection, height: int, count: int) -> list[BlockFilter]:
    """Up to ``count`` stored filters from ``height`` up, in height order (the filters' bytes
    left out: ``filter`` is empty)."""
    rows = db.execute(
        "SELECT block_hash, height, header FROM block_filter WHERE height >= ? AND height < ?"
        " ORDER BY height",
        (height, height + count),
    ).fetchall()
    return [BlockFilter(bytes(r[0]), r[1], b"", bytes(r[2])) for r in rows]


def filters_from(db: sqlite3.Connection, height: int, count: int) -> list[BlockFilter]:
    """Up to ``count`` stored filters from ``height`` up, in height order, with their bytes."""
    rows = db.execute(
        "SELECT block_hash, height, filter, header FROM block_filter"
        " WHERE height >= ? AND height < ? ORDER BY height",
        (height, height + count),
    ).fetchall()
    return [BlockFilter(bytes(r[0]), r[1], bytes(r[2]), bytes(r[3])) for r in rows]
