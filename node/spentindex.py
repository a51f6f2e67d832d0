"""The spending index: outpoint -> the confirmed transaction input that spent it (electrs'
"spending" index, which Esplora's ``/tx/:txid/outspend(s)`` answer from).

May import consensus and the standard library (sqlite3). One table of the node's index database
(``<datadir>/index.sqlite``), which ``node.addrindex.AddressIndex`` owns and keeps in step with
the chain, reorgs included: a block's rows go in when it is connected and out when it is
disconnected.
"""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

from consensus.block import Block
from consensus.transaction import OutPoint

SCHEMA = """
CREATE TABLE IF NOT EXISTS spent_by (
    outpoint BLOB PRIMARY KEY, txid BLOB NOT NULL, vin INTEGER NOT NULL,
    height INTEGER NOT NULL, block_hash BLOB NOT NULL
) WITHOUT ROWID;
"""


class Spender(NamedTuple):
    txid: bytes
    vin: int  # the input's position in that transaction
    height: int
    block_hash: bytes


def add_block(db: sqlite3.Connection, block: Block, height: int) -> None:
    db.executemany(
        "INSERT OR REPLACE INTO spent_by (outpoint, txid, vin, height, block_hash)"
        " VALUES (?, ?, ?, ?, ?)",
        [
            (outpoint.key(), tx.txid, vin, height, block.hash)
            for tx in block.transactions[1:]
            for vin, outpoint in enumerate(tx.inputs)
        ],
    )


def remove_block(db: sqlite3.Connection, block: Block) -> None:
    db.executemany(
        "DELETE FROM spent_by WHERE outpoint = ? AND block_hash = ?",
        [
            (outpoint.key(), block.hash)
            for tx in block.transactions[1:]
            for outpoint in tx.inputs
        ],
    )


def lookup(db: sqlite3.Connection, outpoint: OutPoint) -> Spender | None:
    row = db.execute(
        "SELECT txid, vin, height, block_hash FROM spent_by WHERE outpoint = ?",
        (outpoint.key(),),
    ).fetchone()
    return None if row is None else Spender(bytes(row[0]), row[1], row[2], bytes(row[3]))
