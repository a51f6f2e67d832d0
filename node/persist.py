"""What the node keeps across restarts besides the chain: ``mempool.dat`` and
``fee_estimates.dat`` in the datadir (Bitcoin Core's ``-persistmempool`` and its fee estimates).

May import consensus, msgpack, ``p2p.atomicfile``, the mempool and fee modules and the standard
library; no clock (time comes in as ``now``) and no logging (the node logs what these return).

**The mempool.** At a clean shutdown every mempool transaction is saved, parents before
children, with the time it entered. So are the txids of the node's own transactions that no
peer has asked for yet (``node.txrelay``'s unbroadcast set, as Core saves it), and the fee
deltas of ``prioritisetransaction`` (``deltas``, optional: a file without it reads as none;
Core saves its ``mapDeltas`` too), which are put back first. At the next start
the node offers the transactions to the mempool again in that order (``restore_chunk``:
``Mempool.restore`` runs every check against the chain as it is now, and each entry keeps its
time, so it expires when it would have). Those older than the expiry are dropped; those that
fail (confirmed meanwhile, conflicting, spending what a reorg undid) are counted, never fatal.
Orphans are not saved, as in Core.

**Fee estimates.** At shutdown the estimator first counts the transactions it still tracks as
not confirmed in time (Core's ``FlushUnconfirmed``), then its statistics are saved with the
height they reach. A file older than ``MAX_FEE_FILE_AGE`` (Core's 60 hours) or made with other
bucket settings is ignored.

Both files are msgpack maps with a ``version`` and the ``network``, written atomically (a crash
while saving leaves the previous file). Reading a file that is too large, truncated, altered or
from another network raises ``PersistFileError``: the node logs it and starts without it (the
next clean shutdown writes a good file over it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack

from consensus.errors import ConsensusError
from consensus.transaction import MAX_MONEY, MAX_TX_SIZE, Transaction
from node.fees import FeeEstimator
from node.mempool import MAX_DELTAS, Mempool
from node.mempool_errors import AlreadyInMempool, MempoolError
from p2p.atomicfile import write_atomically

MEMPOOL_FILE = "mempool.dat"
FEE_ESTIMATES_FILE = "fee_estimates.dat"
MEMPOOL_VERSION = 1
FEE_VERSION = 1
MAX_FEE_FILE_AGE = 60 * 60 * 60  # seconds (Core's MAX_FILE_AGE)
MAX_FEE_FILE_BYTES = 16 * 1024 * 1024
FILE_SLACK_BYTES = 1024 * 1024  # headers and per-entry framing beyond the transactions' bytes

SavedTx = tuple[Transaction, int]  # the transaction and the Unix time it entered the mempool


@dataclass(frozen=True)
class SavedMempool:
    txs: list[SavedTx]  # parents before children
    unbroadcast: list[bytes]  # own transactions no peer had asked for (node.txrelay)
    deltas: list[tuple[bytes, int]] = field(default_factory=list)  # prioritisetransaction's


class PersistFileError(ValueError):
    """A saved file that cannot be used (the message says why); nothing was loaded from it."""


# --- the mempool --------------------------------------------------------------------------------
def encode_mempool(mempool: Mempool, network: str, unbroadcast: Sequence[bytes] = ()) -> bytes:
    """Every mempool transaction, parents before children, with its entry time; and which of
    them are still unbroadcast."""
    entries = sorted(mempool.graph.entries.values(), key=lambda e: (e.ancestor_count, e.sequence))
    txs = [[entry.tx.encoded, entry.time] for entry in entries]
    own = own_unbroadcast(mempool, unbroadcast)
    top = {"version": MEMPOOL_VERSION, "network": network, "txs": txs, "unbroadcast": own}
    if mempool.deltas:
        top["deltas"] = [[txid, delta] for txid, delta in mempool.deltas.items()]
    return bytes(msgpack.packb(top))


def own_unbroadcast(mempool: Mempool, unbroadcast: Sequence[bytes]) -> list[bytes]:
    """The unbroadcast txids still in the mempool: the ones a saved file keeps."""
    return [txid for txid in unbroadcast if txid in mempool]


def save_mempool(
    path: Path, mempool: Mempool, network: str, unbroadcast: Sequence[bytes] = ()
) -> int:
    """Write ``mempool`` to ``path`` atomically; the number of transactions saved."""
    write_atomically(path, encode_mempool(mempool, network, unbroadcast))
    return len(mempool)


def decode_mempool(data: bytes, network: str) -> SavedMempool:
    """The saved transactions in file order; ``PersistFileError`` for anything malformed."""
    top = _unpack(data, MAX_TX_SIZE, len(data) // 8 + 16)
    deltas = _deltas(top.pop("deltas", []))
    _check_header(top, MEMPOOL_VERSION, network, {"version", "network", "txs", "unbroadcast"})
    unbroadcast = top["unbroadcast"]
    if not isinstance(unbroadcast, list) or not all(
        isinstance(t, bytes) and len(t) == 32 for t in unbroadcast
    ):
        raise PersistFileError("'unbroadcast' is not a list of txids")
    txs = top["txs"]
    if not isinstance(txs, list):
        raise PersistFileError("'txs' is not a list")
    saved: list[SavedTx] = []
    for index, item in enumerate(txs):
        if not (isinstance(item, list) and len(item) == 2):
            raise PersistFileError(f"entry {index} is not [transaction, time]")
        raw, entered = item
        if not isinstance(raw, bytes) or type(entered) is not int or entered < 0:
            raise PersistFileError(f"entry {index} is not [transaction, time]")
        try:
            saved.append((Transaction.decode(raw), entered))
        except ConsensusError as exc:
            raise PersistFileError(f"entry {index}: {exc}") from None
    return SavedMempool(saved, unbroadcast, deltas)


def _deltas(items: Any) -> list[tuple[bytes, int]]:
    if not isinstance(items, list) or len(items) > MAX_DELTAS:
        raise PersistFileError(f"'deltas' is not a list of at most {MAX_DELTAS} [txid, delta]")
    deltas = []
    for item in items:
        if not (isinstance(item, list) and len(item) == 2):
            raise PersistFileError("'deltas' holds something other than [txid, delta]")
        txid, delta = item
        if not (isinstance(txid, bytes) and len(txid) == 32) or type(delta) is not int:
            raise PersistFileError("'deltas' holds something other than [txid, delta]")
        if not 0 < abs(delta) <= MAX_MONEY:
            raise PersistFileError(f"a fee delta of {delta} is out of range")
        deltas.append((txid, delta))
    return deltas


def read_mempool(path: Path, network: str, max_tx_bytes: int) -> SavedMempool | None:
    """The transactions saved at ``path`` (None when there is no file). A file larger than
    ``max_tx_bytes`` (the mempool's cap) plus framing is refused unread."""
    data = _read_limited(path, max_tx_bytes + FILE_SLACK_BYTES)
    return None if data is None else decode_mempool(data, network)


@dataclass
class RestoreCounts:
    """What restoring a saved mempool did, transaction by transaction."""

    restored: int = 0
    expired: int = 0  # older than the expiry: not offered
    failed: int = 0  # refused now (confirmed meanwhile, conflicting, invalid on this chain)
    already: int = 0  # in the mempool already (relayed by a peer since the start)


def restore_chunk(
    mempool: Mempool, chunk: Sequence[SavedTx], now: int, expiry: int, counts: RestoreCounts
) -> list[bytes]:
    """Offer ``chunk`` to ``mempool`` in order (chain thread), adding to ``counts``; the txids
    that went in."""
    restored: list[bytes] = []
    for tx, entered in chunk:
        if entered < now - expiry:
            counts.expired += 1
            continue
        try:
            mempool.restore(tx, entered, now)
        except AlreadyInMempool:
            counts.already += 1
        except (ConsensusError, MempoolError):
            counts.failed += 1
        else:
            counts.restored += 1
            restored.append(tx.txid)
    return restored


# --- fee estimates ------------------------------------------------------------------------------
def encode_fee_estimates(estimator: FeeEstimator, network: str, now: int) -> bytes:
    """The estimator's statistics (true values, not lazily decayed ones) and settings."""
    scale = estimator.scale
    state = {
        "version": FEE_VERSION,
        "network": network,
        "saved": now,
        "bounds": estimator.bucket_bounds[:-1],  # the last is infinity
        "max_target": estimator.max_target,
        "decay": estimator.decay,
        "best_height": estimator.best_height,
        "confirmed": [[v * scale for v in row] for row in estimator.confirmed],
        "failed": [[v * scale for v in row] for row in estimator.failed],
        "tx_count": [v * scale for v in estimator.tx_count],
        "fee_rate_sum": [v * scale for v in estimator.fee_rate_sum],
    }
    return bytes(msgpack.packb(state))


def save_fee_estimates(path: Path, estimator: FeeEstimator, network: str, now: int) -> None:
    """Count what is still tracked as not confirmed in time, then write the statistics."""
    estimator.flush_unconfirmed()
    write_atomically(path, encode_fee_estimates(estimator, network, now))


def load_fee_estimates(data: bytes, estimator: FeeEstimator, network: str, now: int) -> None:
    """Put the statistics of ``data`` into a fresh ``estimator``; ``PersistFileError`` (and the
    estimator unchanged) when the file is malformed, too old, or from other settings."""
    keys = {"version", "network", "saved", "bounds", "max_target", "decay", "best_height",
            "confirmed", "failed", "tx_count", "fee_rate_sum"}  # fmt: skip
    top = _unpack(data, 64, 1 << 16)
    _check_header(top, FEE_VERSION, network, keys)
    saved = top["saved"]
    if type(saved) is not int or not now - MAX_FEE_FILE_AGE <= saved <= now + 2 * 60 * 60:
        raise PersistFileError(f"saved at {saved!r}: more than 60 hours ago, or in the future")
    if top["bounds"] != estimator.bucket_bounds[:-1] or top["max_target"] != estimator.max_target:
        raise PersistFileError("made with other fee-rate buckets or targets")
    if top["decay"] != estimator.decay:
        raise PersistFileError("made with another decay")
    best = top["best_height"]
    if best is not None and (type(best) is not int or best < 0):
        raise PersistFileError(f"bad best height {best!r}")
    buckets = len(estimator.bucket_bounds)
    confirmed = _matrix(top["confirmed"], estimator.max_target, buckets, "confirmed")
    failed = _matrix(top["failed"], estimator.max_target, buckets, "failed")
    tx_count = _row(top["tx_count"], buckets, "tx_count")
    fee_rate_sum = _row(top["fee_rate_sum"], buckets, "fee_rate_sum")
    estimator.load_statistics(best, confirmed, failed, tx_count, fee_rate_sum)


def read_fee_estimates(path: Path) -> bytes | None:
    return _read_limited(path, MAX_FEE_FILE_BYTES)


# --- shared -------------------------------------------------------------------------------------
def _read_limited(path: Path, limit: int) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        return None
    if len(data) > limit:
        raise PersistFileError(f"{path.name} is larger than {limit} bytes")
    return data


def _unpack(data: bytes, max_bin: int, max_array: int) -> dict[str, Any]:
    try:
        top = msgpack.unpackb(
            data, raw=False, max_bin_len=max_bin, max_str_len=64, max_array_len=max_array,
            max_map_len=16, strict_map_key=True,
        )  # fmt: skip
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
        raise PersistFileError("not a msgpack file (truncated or altered)") from None
    if not isinstance(top, dict):
        raise PersistFileError("not a msgpack map")
    return top


def _check_header(top: dict[str, Any], version: int, network: str, keys: set[str]) -> None:
    if set(top) != keys:
        raise PersistFileError(f"fields {sorted(map(str, top))}, expected {sorted(keys)}")
    if top["version"] != version:
        raise PersistFileError(f"version {top['version']!r}; this node reads {version}")
    if top["network"] != network:
        raise PersistFileError(f"saved by a {top['network']!r} node; this one is {network!r}")


def _row(values: Any, length: int, name: str) -> list[float]:
    if not isinstance(values, list) or len(values) != length:
        raise PersistFileError(f"'{name}' does not have {length} values")
    if not all(type(v) is float and math.isfinite(v) and v >= 0 for v in values):
        raise PersistFileError(f"'{name}' holds a value that is not a finite count")
    return values


def _matrix(rows: Any, count: int, length: int, name: str) -> list[list[float]]:
    if not isinstance(rows, list) or len(rows) != count:
        raise PersistFileError(f"'{name}' does not have {count} rows")
    return [_row(row, length, name) for row in rows]
