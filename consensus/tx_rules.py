"""Transaction rules: context-free sanity, checks against the coins spent, finality, and the
signature jobs. One guard clause per rule, each raising its own error. Standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from consensus.addresses import key_hash
from consensus.errors import (
    AmountOutOfRange,
    BadLock,
    ExtraTooLong,
    ImmatureCoinbaseSpend,
    InputsBelowOutputs,
    KeyHashMismatch,
    NonFinalTransaction,
    TxDuplicateInputs,
    TxNoOutputs,
    TxTooLarge,
    TxWitnessCountMismatch,
    UnknownLockVersion,
)
from consensus.signing import sighash
from consensus.transaction import (
    LOCKTIME_THRESHOLD,
    MAX_EXTRA_SIZE,
    MAX_MONEY,
    MAX_TX_SIZE,
    Transaction,
    TxOut,
)

if TYPE_CHECKING:
    from consensus.params import ChainParams
    from consensus.utxo import Coin

LOCK_VERSION_KEY_HASH = 0
KEY_HASH_LOCK_SIZE = 21


def check_lock(lock: bytes) -> None:
    """A lock is versioned bytes; only version 0 (a 20-byte key hash) is defined."""
    if not lock:
        raise BadLock("empty lock")
    if lock[0] != LOCK_VERSION_KEY_HASH:
        raise UnknownLockVersion(f"lock version {lock[0]} is not defined")
    if len(lock) != KEY_HASH_LOCK_SIZE:
        raise BadLock(f"version-0 lock of {len(lock)} bytes (expected {KEY_HASH_LOCK_SIZE})")


def check_transaction_sanity(tx: Transaction) -> None:
    """Rules that need nothing but the transaction itself (coinbase or not)."""
    if tx.size > MAX_TX_SIZE:
        raise TxTooLarge(f"transaction of {tx.size} bytes is over {MAX_TX_SIZE}")
    if not tx.outputs:
        raise TxNoOutputs("a transaction needs at least one output")
    if len(tx.witnesses) != len(tx.inputs):
        raise TxWitnessCountMismatch(f"{len(tx.witnesses)} witnesses for {len(tx.inputs)} inputs")
    if len(tx.extra) > MAX_EXTRA_SIZE:
        raise ExtraTooLong(f"extra of {len(tx.extra)} bytes is over {MAX_EXTRA_SIZE}")
    total = 0
    for out in tx.outputs:
        if not 0 <= out.value <= MAX_MONEY:
            raise AmountOutOfRange(f"output value {out.value} outside 0..MAX_MONEY")
        total += out.value
        if total > MAX_MONEY:
            raise AmountOutOfRange(f"outputs sum to {total}, over MAX_MONEY")
        check_lock(out.lock)
    if len(set(tx.inputs)) != len(tx.inputs):
        raise TxDuplicateInputs("a transaction spends the same outpoint twice")


def check_transaction_final(tx: Transaction, height: int, median_time_past: int) -> None:
    """Locktime: 0, or a height below the block's, or a time below the parent's median time."""
    if tx.locktime == 0:
        return
    limit = height if tx.locktime < LOCKTIME_THRESHOLD else median_time_past
    if tx.locktime >= limit:
        raise NonFinalTransaction(f"locktime {tx.locktime} not reached (at {limit})")


def check_transaction_inputs(
    tx: Transaction, coins: Sequence[Coin], spend_height: int, params: ChainParams
) -> int:
    """Rules against the coins being spent (given in input order); returns the fee.

    Signatures are not checked here: see :func:`signature_jobs`.
    """
    total_in = 0
    for coin, witness in zip(coins, tx.witnesses, strict=True):
        if coin.coinbase and spend_height - coin.height < params.coinbase_maturity:
            raise ImmatureCoinbaseSpend(
                f"coinbase output from height {coin.height} spent at {spend_height}"
            )
        total_in += coin.value
        if not 0 <= coin.value <= MAX_MONEY or total_in > MAX_MONEY:
            raise AmountOutOfRange(f"inputs sum to {total_in}, over MAX_MONEY")
        if coin.lock[1:] != key_hash(witness.pubkey) or coin.lock[0] != LOCK_VERSION_KEY_HASH:
            raise KeyHashMismatch(f"{tx.txid_hex}: witness key does not match the spent lock")
    total_out = tx.total_out()
    if total_in < total_out:
        raise InputsBelowOutputs(f"{tx.txid_hex}: inputs {total_in} < outputs {total_out}")
    return total_in - total_out


def signature_jobs(
    tx: Transaction, spent_outputs: Sequence[TxOut], chain_id: bytes
) -> list[tuple[bytes, bytes, bytes]]:
    """``(pubkey, signature, message)`` for each input, to verify now or in a batch."""
    message = sighash(tx, spent_outputs, chain_id)
    return [(w.pubkey, w.signature, message) for w in tx.witnesses]
