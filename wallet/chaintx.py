"""The node's transactions as the wallet sees them: :class:`ChainTx`, parsed from the API's
Esplora-shaped JSON, with where each one is (a block height, or the mempool).

May import ``consensus`` (transaction, hashing) and ``wallet`` modules (never ``node``, ``p2p``,
``pool``, ``mining`` or ``seedchain``); no I/O. A malformed object is a :class:`NodeError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consensus.hashing import hash_to_hex, hex_to_hash
from consensus.transaction import MAX_MONEY, OutPoint, TxOut
from wallet.errors import NodeError


@dataclass(frozen=True)
class ChainInput:
    """An input as the node reports it: what it spends, and the spent output if known."""

    outpoint: OutPoint
    prevout: TxOut | None


@dataclass(frozen=True)
class ChainTx:
    """A transaction the node reports, with where it is: ``height`` None means the mempool."""

    txid: bytes
    inputs: tuple[ChainInput, ...]
    outputs: tuple[TxOut, ...]
    fee: int | None
    size: int
    coinbase: bool
    height: int | None
    block_hash: str | None = None
    block_time: int | None = None

    @property
    def confirmed(self) -> bool:
        return self.height is not None

    @property
    def txid_hex(self) -> str:
        return hash_to_hex(self.txid)

    @classmethod
    def from_json(cls, obj: Any) -> ChainTx:
        """Parse the API's transaction object; :class:`NodeError` if it is malformed."""
        try:
            if not isinstance(obj, dict):
                raise TypeError("not an object")
            inputs = []
            for vin in _list(obj["vin"]):
                prev = vin.get("prevout")
                inputs.append(
                    ChainInput(
                        OutPoint(hex_to_hash(_str(vin["txid"])), _uint(vin["vout"])),
                        None if prev is None else _txout(prev),
                    )
                )
            outputs = tuple(_txout(vout) for vout in _list(obj["vout"]))
            status = obj["status"]
            if not isinstance(status, dict) or not isinstance(status.get("confirmed"), bool):
                raise TypeError("status")
            fee = obj.get("fee")
            if status["confirmed"]:
                height: int | None = _uint(status["block_height"])
                block_hash = _str(status.get("block_hash", ""))
                block_time = status.get("block_time")
                block_time = None if block_time is None else _uint(block_time)
            else:
                height, block_hash, block_time = None, None, None
            return cls(
                txid=hex_to_hash(_str(obj["txid"])),
                inputs=tuple(inputs),
                outputs=outputs,
                fee=None if fee is None else _amount(fee),
                size=_uint(obj.get("size", 0)),
                coinbase=bool(obj.get("is_coinbase", False)),
                height=height,
                block_hash=block_hash,
                block_time=block_time,
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            txid = obj.get("txid") if isinstance(obj, dict) else None
            raise NodeError(f"the node sent a malformed transaction {str(txid)[:64]!r}") from None


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("expected a list")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _uint(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ValueError("expected a non-negative integer")
    return value


def _amount(value: Any) -> int:
    amount = _uint(value)
    if amount > MAX_MONEY:
        raise ValueError("amount out of range")
    return amount


def _txout(obj: Any) -> TxOut:
    if not isinstance(obj, dict):
        raise TypeError("output")
    return TxOut(_amount(obj["value"]), bytes.fromhex(_str(obj["scriptpubkey"])))
