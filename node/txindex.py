"""The transaction index: txid -> where the transaction sits in the active chain.

May import consensus and the standard library (sqlite3). It is one table of the node's index
database (``<datadir>/index.sqlite``), which ``node.addrindex.AddressIndex`` owns and keeps in
step with the chain; this module knows the table and how to read a transaction back.

A row holds the block hash, height, position in the block, and the byte offset and length of
the transaction's canonical encoding inside the block's stored encoding: a lookup reads the
stored block and slices the transaction out without decoding the rest of the block.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import NamedTuple

from consensus.block import HEADER_SIZE, Block

SCHEMA = """
CREATE TABLE IF NOT EXISTS tx_location (
    txid BLOB PRIMARY KEY, block_hash BLOB NOT NULL, height INTEGER NOT NULL,
    position INTEGER NOT NULL, byte_offset INTEGER NOT NULL, length INTEGER NOT NULL
) WITHOUT ROWID;
"""


class TxLocation(NamedTuple):
    block_hash: bytes
    height: int
    position: int
    offset: int  # of the transaction's encoding inside the block's encoding
    length: int


def array_header_size(count: int) -> int:
    """Bytes of the msgpack array header of a ``count``-element array."""
    return 1 if count < 16 else 3 if count < 0x10000 else 5


def block_rows(block: Block, height: int) -> list[tuple[bytes, bytes, int, int, int, int]]:
    """The ``tx_location`` rows of every transaction of ``block`` at ``height``."""
    offset = HEADER_SIZE + array_header_size(len(block.transactions))
    rows = []
    for position, tx in enumerate(block.transactions):
        size = len(tx.encoded)
        rows.append((tx.txid, block.hash, height, position, offset, size))
        offset += size
    return rows


def add_block(db: sqlite3.Connection, block: Block, height: int) -> None:
    db.executemany(
        "INSERT OR REPLACE INTO tx_location"
        " (txid, block_hash, height, position, byte_offset, length) VALUES (?, ?, ?, ?, ?, ?)",
        block_rows(block, height),
    )


def remove_block(db: sqlite3.Connection, block: Block) -> None:
    db.executemany(
        "DELETE FROM tx_location WHERE txid = ? AND block_hash = ?",
        [(tx.txid, block.hash) for tx in block.transactions],
    )


def lookup(db: sqlite3.Connection, txid: bytes) -> TxLocation | None:
    row = db.execute(
        "SELECT block_hash, height, position, byte_offset, length FROM tx_location WHERE txid = ?",
        (txid,),
    ).fetchone()
    return None if row is None else TxLocation(bytes(row[0]), row[1], row[2], row[3], row[4])


def lookup_many(db: sqlite3.Connection, txids: Iterable[bytes]) -> dict[bytes, TxLocation]:
    found: dict[bytes, TxLocation] = {}
    for txid in txids:
        location = lookup(db, txid)
        if location is not None:
            found[txid] = location
    return found


def slice_transaction(raw_block: bytes, location: TxLocation) -> bytes:
    """The transaction's canonical encoding, cut out of its block's stored encoding."""
    return raw_block[location.offset : location.offset + location.length]
