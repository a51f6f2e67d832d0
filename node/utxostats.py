"""Statistics of the UTXO set, as Bitcoin Core's ``gettxoutsetinfo``: how many unspent outputs
and transactions, the coins they hold against the coins ever issued, and the UTXO set hash
that ``seedchain verify`` also computes (``node.coins.utxo_set_hash``).

May import consensus, ``node.coins``, ``node.storage`` and the standard library. A scan
reads every coin, so it must not hold the chain thread: ``open_snapshot`` (on the chain thread)
writes the unwritten coins and opens a read-only SQLite transaction on the chain database,
which in WAL mode keeps seeing that one state while the chain thread goes on writing;
``UtxoSnapshot.scan`` then reads it on any thread and closes it. ``UtxoSnapshot.find`` instead
picks the coins of given locks (Core's ``scantxoutset``), which works on a pruned node too.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from consensus.coinbase import block_subsidy
from consensus.utxo import Coin
from node.coins import coin_record
from node.storage import iter_coins

if TYPE_CHECKING:
    from node.chain import ChainState


class SnapshotError(RuntimeError):
    """The chain database did not show the state the chain thread had just written."""


@dataclass(frozen=True)
class UtxoSetStats:
    height: int
    best_block: bytes  # the hash of the tip the set belongs to (internal byte order)
    txouts: int  # unspent outputs
    transactions: int  # transactions with at least one unspent output
    total_amount: int  # base units held by the unspent outputs
    total_issued: int  # every block subsidy from height 1 to ``height`` (genesis pays none)
    hash_serialized: bytes  # sha256 over every coin record in outpoint order

    @property
    def best_block_hex(self) -> str:
        return self.best_block[::-1].hex()

    def to_json(self) -> dict[str, Any]:
        return {
            "height": self.height,
            "bestblock": self.best_block_hex,
            "txouts": self.txouts,
            "transactions": self.transactions,
            "total_amount": self.total_amount,
            "total_issued": self.total_issued,
            # Issued but not held by any output: fees and subsidy that coinbases left unclaimed.
            "total_unclaimed": self.total_issued - self.total_amount,
            "hash_serialized": self.hash_serialized.hex(),
        }


def total_issued(height: int, halving_interval: int) -> int:
    """The sum of the block subsidies of heights 1 to ``height``, one halving era at a time."""
    total, start = 0, 1
    while start <= height:
        end = min(height, (start // halving_interval + 1) * halving_interval - 1)
        subsidy = block_subsidy(start, halving_interval)
        if subsidy == 0:
            break
        total += (end - start + 1) * subsidy
        start = end + 1
    return total


class UtxoSnapshot:
    """A read-only transaction on the chain database at one tip; ``scan`` once, on any
    thread. ``close`` without scanning releases it."""

    def __init__(self, chain: ChainState) -> None:
        chain.flush()  # the stored coins and the stored tip are now the active tip's
        uri = chain.store.path.resolve().as_uri() + "?mode=ro"
        self._db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("BEGIN")
            row = self._db.execute("SELECT value FROM meta WHERE key = 'tip'").fetchone()
            if row is None or bytes(row[0]) != chain.tip.hash:
                raise SnapshotError("the chain database does not show the tip just written")
        except BaseException:
            self._db.close()
            raise
        self.height = chain.tip.height
        self.best_block = chain.tip.hash
        self.halving_interval = chain.params.halving_interval

    def scan(self) -> UtxoSetStats:
        """Read every coin once: counts, total and the set hash (``coin_record`` per coin, as
        ``node.coins.utxo_set_hash``); closes the snapshot."""
        digest = hashlib.sha256()
        txouts = amount = transactions = 0
        last_txid = b""
        try:
            for key, coin in iter_coins(self._db):
                digest.update(coin_record(key, coin))
                txouts += 1
                amount += coin.value
                if key[:32] != last_txid:
                    last_txid = key[:32]
                    transactions += 1
        finally:
            self.close()
        return UtxoSetStats(
            height=self.height,
            best_block=self.best_block,
            txouts=txouts,
            transactions=transactions,
            total_amount=amount,
            total_issued=total_issued(self.height, self.halving_interval),
            hash_serialized=digest.digest(),
        )

    def find(self, locks: Collection[bytes]) -> UtxoMatches:
        """Every unspent output locked to one of ``locks`` (Core's ``scantxoutset``), in
        outpoint order: one pass of SQLite over the whole set; closes the snapshot."""
        marks = ",".join("?" * len(locks))
        try:
            rows = self._db.execute(
                "SELECT outpoint, value, lock, height, coinbase FROM utxo"
                f" WHERE lock IN ({marks}) ORDER BY outpoint",
                [bytes(lock) for lock in locks],
            ).fetchall()
        finally:
            self.close()
        coins = tuple(
            (bytes(key), Coin(value, bytes(lock), height, bool(coinbase)))
            for key, value, lock, height, coinbase in rows
        )
        return UtxoMatches(self.height, self.best_block, coins)

    def close(self) -> None:
        self._db.close()


@dataclass(frozen=True)
class UtxoMatches:
    """The unspent outputs a ``find`` matched, at one tip."""

    height: int
    best_block: bytes
    coins: tuple[tuple[bytes, Coin], ...]  # (outpoint key, coin) in outpoint order

    @property
    def total_amount(self) -> int:
        return sum(coin.value for _, coin in self.coins)


def open_snapshot(chain: ChainState) -> UtxoSnapshot:
    """On the chain thread: the UTXO set of the active tip, ready to scan elsewhere."""
    return UtxoSnapshot(chain)
