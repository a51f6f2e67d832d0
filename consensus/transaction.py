"""Transactions: the canonical msgpack form, txid and wtxid, and strict decoding.

May import msgpack and the standard library. Wire form (protocol.md):
``[version, inputs, outputs, locktime, extra, witnesses]`` with input ``[prev_txid, vout]``,
output ``[value, lock]`` and witness ``[pubkey, signature]``. The txid hashes the first five
fields (witnesses excluded); the wtxid hashes the full encoding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from consensus.cached import cached_property
from consensus.encoding import (
    U32_MAX,
    U63_MAX,
    pack,
    read_bytes,
    read_int,
    read_list,
    unpack_canonical,
)
from consensus.errors import DecodeError
from consensus.hashing import HASH_SIZE, hash_to_hex, sha256d

COIN = 100_000_000
MAX_MONEY = 21_000_000 * COIN
MAX_TX_SIZE = 100_000
MAX_EXTRA_SIZE = 80
MAX_LOCK_SIZE = 256
PUBKEY_SIZE = 32
SIGNATURE_SIZE = 64
# A non-coinbase input costs at least 36 bytes and an output at least 3, so a transaction within
# MAX_TX_SIZE can never hold more items than this.
MAX_TX_ITEMS = MAX_TX_SIZE // 3
WITNESS_PACKED_SIZE = 1 + (2 + PUBKEY_SIZE) + (2 + SIGNATURE_SIZE)
LOCKTIME_THRESHOLD = 500_000_000  # below: a block height; at or above: a Unix time


class OutPoint(NamedTuple):
    """A reference to one output of an earlier transaction (packs as ``[txid, vout]``)."""

    txid: bytes
    vout: int

    def key(self) -> bytes:
        """A fixed 36-byte key, for storage: txid followed by vout as u32 big-endian."""
        return self.txid + self.vout.to_bytes(4, "big")

    @classmethod
    def from_key(cls, key: bytes) -> OutPoint:
        return cls(key[:32], int.from_bytes(key[32:36], "big"))

    def __str__(self) -> str:
        return f"{hash_to_hex(self.txid)}:{self.vout}"


TxIn = OutPoint
"""An input is exactly the outpoint it spends (the signature lives in ``witnesses``)."""


class TxOut(NamedTuple):
    """An output: an amount in base units and a versioned lock (packs as ``[value, lock]``)."""

    value: int
    lock: bytes


class Witness(NamedTuple):
    """The Ed25519 public key and signature that unlock one input."""

    pubkey: bytes
    signature: bytes


@dataclass(frozen=True, eq=False)
class Transaction:
    """An immutable transaction. Equality and hashing go by wtxid (the full encoding)."""

    version: int
    inputs: tuple[OutPoint, ...]
    outputs: tuple[TxOut, ...]
    locktime: int
    extra: bytes = b""
    witnesses: tuple[Witness, ...] = field(default=())

    # --- encodings and hashes, computed once ----------------------------------------------
    @cached_property
    def encoded(self) -> bytes:
        """The canonical full encoding (what goes on the wire and into the wtxid)."""
        return pack(
            (self.version, self.inputs, self.outputs, self.locktime, self.extra, self.witnesses)
        )

    @cached_property
    def txid_preimage(self) -> bytes:
        """``msgpack([version, inputs, outputs, locktime, extra])``: the full encoding without
        the witnesses, with a 5-element array header instead of 6."""
        n = len(self.witnesses)
        # each witness packs as fixarray(2) + bin8(32) + bin8(64) = 101 bytes
        witnesses_len = (1 if n < 16 else 3 if n < 0x10000 else 5) + WITNESS_PACKED_SIZE * n
        return b"\x95" + self.encoded[1 : len(self.encoded) - witnesses_len]

    @cached_property
    def txid(self) -> bytes:
        return sha256d(self.txid_preimage)

    @cached_property
    def wtxid(self) -> bytes:
        return sha256d(self.encoded)

    @property
    def size(self) -> int:
        return len(self.encoded)

    @property
    def is_coinbase(self) -> bool:
        return not self.inputs

    @property
    def txid_hex(self) -> str:
        return hash_to_hex(self.txid)

    def total_out(self) -> int:
        return sum(out.value for out in self.outputs)

    def with_witnesses(self, witnesses: tuple[Witness, ...]) -> Transaction:
        return Transaction(
            self.version, self.inputs, self.outputs, self.locktime, self.extra, witnesses
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Transaction) and self.encoded == other.encoded

    def __hash__(self) -> int:
        return hash(self.wtxid)

    def __repr__(self) -> str:
        n_in, n_out = len(self.inputs), len(self.outputs)
        return f"Transaction(txid={self.txid_hex}, inputs={n_in}, outputs={n_out})"

    # --- decoding -------------------------------------------------------------------------
    @classmethod
    def make(
        cls,
        version: int,
        inputs: tuple[OutPoint, ...],
        outputs: tuple[TxOut, ...],
        locktime: int,
        extra: bytes,
        witnesses: tuple[Witness, ...],
    ) -> Transaction:
        """Construct without the frozen dataclass's per-field ``object.__setattr__`` (the
        decoder's hot path); same result as calling the class."""
        tx = object.__new__(cls)
        tx.__dict__.update(
            version=version,
            inputs=inputs,
            outputs=outputs,
            locktime=locktime,
            extra=extra,
            witnesses=witnesses,
        )
        return tx

    @classmethod
    def from_wire(cls, obj: Any) -> Transaction:
        """Build a transaction from its decoded msgpack array, checking every field's type,
        range and length (``DecodeError`` otherwise). Rules that are not about the encoding
        (amounts, input counts, ...) are checked by ``consensus.tx_rules``.

        A fast pass accepts well-formed input; anything it does not accept goes through the
        field-by-field readers, which name the offending field in the error.
        """
        tx = _fast_from_wire(obj)
        if tx is not None:
            return tx
        fields = read_list(obj, "transaction", exact=6)
        version = read_int(fields[0], "version", U32_MAX)
        inputs = tuple(
            _read_input(item, i)
            for i, item in enumerate(read_list(fields[1], "inputs", maximum=MAX_TX_ITEMS))
        )
        outputs = tuple(
            _read_output(item, i)
            for i, item in enumerate(read_list(fields[2], "outputs", maximum=MAX_TX_ITEMS))
        )
        locktime = read_int(fields[3], "locktime", U32_MAX)
        extra = read_bytes(fields[4], "extra", maximum=MAX_TX_SIZE)
        witnesses = tuple(
            _read_witness(item, i)
            for i, item in enumerate(read_list(fields[5], "witnesses", maximum=MAX_TX_ITEMS))
        )
        return cls.make(version, inputs, outputs, locktime, extra, witnesses)

    @classmethod
    def decode(cls, data: bytes) -> Transaction:
        """Strictly decode a transaction's canonical bytes (``DecodeError`` on any deviation)."""
        if len(data) > MAX_TX_SIZE:
            raise DecodeError(f"transaction of {len(data)} bytes is over {MAX_TX_SIZE}")
        obj = unpack_canonical(data, max_bin_len=MAX_TX_SIZE, max_array_len=MAX_TX_ITEMS)
        tx = cls.from_wire(obj)
        tx.__dict__["encoded"] = bytes(data)
        return tx


# Builds a NamedTuple straight from a checked pair, skipping its Python-level __new__.
_tuple_new = tuple.__new__


def _fast_from_wire(obj: Any) -> Transaction | None:
    """The common case in one pass with inline checks; None where anything is off."""
    if type(obj) is not list or len(obj) != 6:
        return None
    version, ins, outs, locktime, extra, wits = obj
    if not (
        type(version) is int
        and 0 <= version <= U32_MAX
        and type(locktime) is int
        and 0 <= locktime <= U32_MAX
        and type(extra) is bytes
        and type(ins) is list
        and type(outs) is list
        and type(wits) is list
        and len(ins) <= MAX_TX_ITEMS
        and len(outs) <= MAX_TX_ITEMS
        and len(wits) <= MAX_TX_ITEMS
    ):
        return None
    inputs = []
    for item in ins:
        if type(item) is not list or len(item) != 2:
            return None
        txid, vout = item
        if type(txid) is not bytes or len(txid) != HASH_SIZE or type(vout) is not int:
            return None
        if not 0 <= vout <= U32_MAX:
            return None
        inputs.append(_tuple_new(OutPoint, item))
    outputs = []
    for item in outs:
        if type(item) is not list or len(item) != 2:
            return None
        value, lock = item
        if type(value) is not int or type(lock) is not bytes or len(lock) > MAX_LOCK_SIZE:
            return None
        if not 0 <= value <= U63_MAX:
            return None
        outputs.append(_tuple_new(TxOut, item))
    witnesses = []
    for item in wits:
        if type(item) is not list or len(item) != 2:
            return None
        pubkey, signature = item
        if type(pubkey) is not bytes or type(signature) is not bytes:
            return None
        if len(pubkey) != PUBKEY_SIZE or len(signature) != SIGNATURE_SIZE:
            return None
        witnesses.append(_tuple_new(Witness, item))
    return Transaction.make(
        version, tuple(inputs), tuple(outputs), locktime, extra, tuple(witnesses)
    )


def _read_input(obj: Any, index: int) -> OutPoint:
    fields = read_list(obj, f"inputs[{index}]", exact=2)
    return OutPoint(
        read_bytes(fields[0], f"inputs[{index}].prev_txid", exact=HASH_SIZE),
        read_int(fields[1], f"inputs[{index}].vout", U32_MAX),
    )


def _read_output(obj: Any, index: int) -> TxOut:
    fields = read_list(obj, f"outputs[{index}]", exact=2)
    return TxOut(
        read_int(fields[0], f"outputs[{index}].value", U63_MAX),
        read_bytes(fields[1], f"outputs[{index}].lock", maximum=MAX_LOCK_SIZE),
    )


def _read_witness(obj: Any, index: int) -> Witness:
    fields = read_list(obj, f"witnesses[{index}]", exact=2)
    return Witness(
        read_bytes(fields[0], f"witnesses[{index}].pubkey", exact=PUBKEY_SIZE),
        read_bytes(fields[1], f"witnesses[{index}].signature", exact=SIGNATURE_SIZE),
    )
