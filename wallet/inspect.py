"""Looking closer at a synced wallet: one transaction in detail (Core's ``gettransaction``,
Electrum's transaction dialog) and every address with what it received and holds (Core's
``listreceivedbyaddress``, Electrum's Addresses tab).

May import ``consensus`` and ``wallet`` modules (never ``node``, ``p2p``, ``pool``, ``mining``
or ``seedchain``); no I/O: both work on a :class:`wallet.history.WalletView`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from consensus.addresses import lock_to_address
from consensus.errors import AddressError
from consensus.hashing import hash_to_hex
from consensus.transaction import TxOut
from wallet.errors import WalletError
from wallet.history import HistoryEntry, WalletView
from wallet.keys import CHANGE, RECEIVE, KeyId

KINDS = {RECEIVE: "receive", CHANGE: "change"}


class UnknownTransaction(WalletError):
    """A txid that does not touch this wallet (as far as the node reports)."""


def _address(lock: bytes, hrp: str) -> str | None:
    try:
        return lock_to_address(lock, hrp)
    except AddressError:
        return None


def transaction_detail(
    view: WalletView,
    txid: bytes,
    hrp: str,
    labels: Mapping[str, str],
    path_of: Callable[[KeyId], str],
) -> dict[str, Any]:
    """Everything the wallet knows of ``txid``: its status and amounts as ``history`` shows
    them, and each input and output with its address, value and whether (and where) it is
    ours. ``UnknownTransaction`` if the wallet has no such transaction."""
    entry = history_entry(view, txid)
    tx = view.txs.get(txid)
    if entry is None or tx is None:
        raise UnknownTransaction(f"transaction {hash_to_hex(txid)} is not one of this wallet's")

    def side(out: TxOut | None) -> dict[str, Any]:
        if out is None:
            return {"address": None, "value": None, "ours": False, "path": None}
        key = view.owned.get(out.lock)
        address = _address(out.lock, hrp)
        return {
            "address": address,
            "value": out.value,
            "ours": key is not None,
            "path": None if key is None else path_of(key),
            "kind": None if key is None else KINDS[key.change],
            "label": None if address is None else labels.get(address),
        }

    inputs = [
        {"outpoint": f"{hash_to_hex(vin.outpoint.txid)}:{vin.outpoint.vout}", **side(vin.prevout)}
        for vin in tx.inputs
    ]
    outputs = [{"vout": vout, **side(out)} for vout, out in enumerate(tx.outputs)]
    txid_hex = hash_to_hex(txid)
    return {
        **entry.to_json(),
        "label": labels.get(txid_hex),
        "block_hash": tx.block_hash,
        "size": tx.size,
        "fee_rate": None if tx.fee is None or not tx.size else round(tx.fee / tx.size, 3),
        "inputs": inputs,
        "outputs": outputs,
    }


@dataclass(frozen=True)
class AddressRow:
    address: str
    key: KeyId
    path: str
    label: str | None
    received: int  # every output to it the node reports (chain and mempool)
    balance: int  # its unspent outputs (as the mempool leaves them)
    transactions: int

    @property
    def used(self) -> bool:
        return self.transactions > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "kind": KINDS[self.key.change],
            "index": self.key.index,
            "path": self.path,
            "label": self.label,
            "received": self.received,
            "balance": self.balance,
            "transactions": self.transactions,
            "used": self.used,
        }


def address_rows(
    view: WalletView,
    shown: Mapping[int, int],
    hrp: str,
    labels: Mapping[str, str],
    lock_of: Callable[[KeyId], bytes],
    path_of: Callable[[KeyId], str],
) -> list[AddressRow]:
    """One row per address of each chain up to ``shown[chain]`` addresses (those handed out
    or used), receiving first, by index."""
    received: dict[bytes, int] = {}
    touching: dict[bytes, set[bytes]] = {}
    for tx in view.txs.values():
        for out in tx.outputs:
            if out.lock in view.owned:
                received[out.lock] = received.get(out.lock, 0) + out.value
                touching.setdefault(out.lock, set()).add(tx.txid)
        for vin in tx.inputs:
            if vin.prevout is not None and vin.prevout.lock in view.owned:
                touching.setdefault(vin.prevout.lock, set()).add(tx.txid)
    balance: dict[bytes, int] = {}
    for coin in view.coins:
        balance[coin.lock] = balance.get(coin.lock, 0) + coin.value
    rows = []
    for chain in (RECEIVE, CHANGE):
        for index in range(shown.get(chain, 0)):
            key = KeyId(chain, index)
            lock = lock_of(key)
            address = lock_to_address(lock, hrp)
            rows.append(
                AddressRow(
                    address=address,
                    key=key,
                    path=path_of(key),
                    label=labels.get(address),
                    received=received.get(lock, 0),
                    balance=balance.get(lock, 0),
                    transactions=len(touching.get(lock, ())),
                )
            )
    return rows


def history_entry(view: WalletView, txid: bytes) -> HistoryEntry | None:
    return next((e for e in view.history if e.txid == txid), None)
