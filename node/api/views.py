"""JSON shapes of the API, in Esplora's field names where Esplora has the thing.

May import consensus, node.blockindex and the standard library. Pure functions from objects to
JSON-ready dicts: amounts are integers of base units, hashes are hex of the reversed bytes
(``consensus.hashing.hash_to_hex``), other bytes (locks, witnesses, raw data) are plain hex.
Seedchain has no scripts: an output's ``scriptpubkey`` is its lock, ``scriptpubkey_type`` is
``v0_keyhash`` for a version-0 lock; there is no witness discount, so ``weight`` is 4 x size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from consensus.addresses import lock_to_address
from consensus.errors import AddressError
from consensus.hashing import hash_to_hex
from consensus.params import ChainParams
from consensus.pow import compact_to_target
from consensus.transaction import Transaction, TxOut
from node.blockindex import ChainEntry

Json = dict[str, Any]


def address_of(lock: bytes, hrp: str) -> str | None:
    try:
        return lock_to_address(lock, hrp)
    except AddressError:
        return None


def output_json(out: TxOut, hrp: str) -> Json:
    address = address_of(out.lock, hrp)
    return {
        "scriptpubkey": out.lock.hex(),
        "scriptpubkey_address": address,
        "scriptpubkey_type": "v0_keyhash" if address is not None else "unknown",
        "value": out.value,
    }


def status_json(entry: ChainEntry | None) -> Json:
    """Esplora's transaction ``status``: the block it is in on the active chain, if any."""
    if entry is None:
        return {"confirmed": False}
    return {
        "confirmed": True,
        "block_height": entry.height,
        "block_hash": entry.hash_hex,
        "block_time": entry.time,
    }


def tx_json(
    tx: Transaction,
    hrp: str,
    prevouts: Sequence[TxOut | None],
    fee: int | None,
    status: Json,
) -> Json:
    """Esplora's transaction object. A coinbase has no inputs (``vin`` is empty)."""
    vin = []
    for index, outpoint in enumerate(tx.inputs):
        witness = tx.witnesses[index] if index < len(tx.witnesses) else None
        prev = prevouts[index] if index < len(prevouts) else None
        vin.append(
            {
                "txid": hash_to_hex(outpoint.txid),
                "vout": outpoint.vout,
                "prevout": None if prev is None else output_json(prev, hrp),
                "witness": []
                if witness is None
                else [witness.pubkey.hex(), witness.signature.hex()],
                "is_coinbase": False,
            }
        )
    size = tx.size
    return {
        "txid": tx.txid_hex,
        "wtxid": hash_to_hex(tx.wtxid),
        "version": tx.version,
        "locktime": tx.locktime,
        "extra": tx.extra.hex(),
        "is_coinbase": tx.is_coinbase,
        "size": size,
        "weight": 4 * size,
        "fee": fee,
        "vin": vin,
        "vout": [output_json(out, hrp) for out in tx.outputs],
        "status": status,
    }


def difficulty(bits: int, params: ChainParams) -> float:
    """How many times harder than the network's easiest target (``pow_limit``)."""
    return params.pow_limit / compact_to_target(bits)


def chainwork_hex(entry: ChainEntry) -> str:
    return f"{entry.chainwork:064x}"


def block_json(
    entry: ChainEntry,
    size: int | None,
    tx_count: int | None,
    in_best_chain: bool,
    params: ChainParams,
) -> Json:
    """Esplora's block object (plus ``chainwork`` and ``in_best_chain``)."""
    header = entry.header
    return {
        "id": entry.hash_hex,
        "height": entry.height,
        "version": header.version,
        "timestamp": header.time,
        "mediantime": entry.median_time_past,
        "bits": header.bits,
        "nonce": header.nonce,
        "difficulty": difficulty(header.bits, params),
        "merkle_root": hash_to_hex(header.merkle_root),
        "previousblockhash": None if entry.parent is None else entry.parent.hash_hex,
        "tx_count": tx_count,
        "size": size,
        "weight": None if size is None else 4 * size,
        "chainwork": chainwork_hex(entry),
        "in_best_chain": in_best_chain,
    }


def raw_tx_count(raw_block: bytes) -> int:
    """The number of transactions of a stored block, read off the msgpack array header that
    follows the 80-byte header (no decoding of the transactions)."""
    marker = raw_block[80]
    if marker & 0xF0 == 0x90:
        return marker & 0x0F
    if marker == 0xDC:
        return int.from_bytes(raw_block[81:83], "big")
    if marker == 0xDD:
        return int.from_bytes(raw_block[81:85], "big")
    raise ValueError("stored block has no transaction array")
