"""Exact sizes of signed transactions, computed from msgpack's encoding rules.

May import ``consensus.transaction`` only. A transaction is the canonical msgpack array
``[version, inputs, outputs, locktime, extra, witnesses]`` (protocol.md), so its size is a sum
of msgpack item sizes; a signed transaction has one ``[pubkey: bin32, signature: bin64]``
witness per input, whatever the keys. These functions give the same number as
``len(Transaction(...).encoded)`` for a signed transaction, without building or signing it
(``tests/unit/wallet/test_wallet_txsize.py`` checks that equality).
"""

from __future__ import annotations

from collections.abc import Sequence

from consensus.encoding import array_header_size, bin_size, uint_size
from consensus.transaction import PUBKEY_SIZE, SIGNATURE_SIZE, OutPoint, TxOut

TXID_SIZE = 32


WITNESS_SIZE = 1 + bin_size(PUBKEY_SIZE) + bin_size(SIGNATURE_SIZE)
"""``[pubkey, signature]``: 101 bytes."""


def input_size(outpoint: OutPoint) -> int:
    """``[prev_txid, vout]``: 36 bytes plus the width of ``vout``."""
    return 1 + bin_size(TXID_SIZE) + uint_size(outpoint.vout)


def spend_size(outpoint: OutPoint) -> int:
    """What spending one more coin adds: its input and its witness (array headers aside)."""
    return input_size(outpoint) + WITNESS_SIZE


def output_size(output: TxOut) -> int:
    """``[value, lock]``."""
    return 1 + uint_size(output.value) + bin_size(len(output.lock))


def signed_tx_size(
    inputs: Sequence[OutPoint],
    outputs: Sequence[TxOut],
    *,
    version: int = 1,
    locktime: int = 0,
    extra: bytes = b"",
) -> int:
    """The exact size of the signed transaction with these inputs and outputs."""
    count = len(inputs)
    return (
        1  # the 6-element array header
        + uint_size(version)
        + array_header_size(count)
        + sum(input_size(outpoint) for outpoint in inputs)
        + array_header_size(len(outputs))
        + sum(output_size(output) for output in outputs)
        + uint_size(locktime)
        + bin_size(len(extra))
        + array_header_size(count)
        + count * WITNESS_SIZE
    )
