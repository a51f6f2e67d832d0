"""Coinbase layout, the block subsidy, and the Stratum cut of a coinbase's encoding.

``extra`` of a coinbase = block height (u32 little-endian) || extranonce1 (4 bytes) ||
extranonce2 (4 bytes) || optional tag (at most 40 bytes). The extranonce's offset in the
encoding depends only on the outputs, locktime and the length of ``extra``, never on the
extranonce values, so a pool can hand out ``coinb1 || extranonce1 || extranonce2 || coinb2``.
"""

from __future__ import annotations

from collections.abc import Sequence

from consensus.encoding import pack
from consensus.errors import BadCoinbaseExtra
from consensus.transaction import COIN, Transaction, TxOut

HEIGHT_SIZE = 4
EXTRANONCE1_SIZE = 4
EXTRANONCE2_SIZE = 4
EXTRANONCE_SIZE = EXTRANONCE1_SIZE + EXTRANONCE2_SIZE
MAX_TAG_SIZE = 40
COINBASE_VERSION = 1
INITIAL_SUBSIDY = 50 * COIN


def block_subsidy(height: int, halving_interval: int) -> int:
    """50 coins, halving every ``halving_interval`` blocks, zero after 64 halvings."""
    halvings = height // halving_interval
    return 0 if halvings >= 64 else INITIAL_SUBSIDY >> halvings


def coinbase_extra(
    height: int, extranonce: bytes = bytes(EXTRANONCE_SIZE), tag: bytes = b""
) -> bytes:
    if len(extranonce) != EXTRANONCE_SIZE:
        raise ValueError(f"extranonce must be {EXTRANONCE_SIZE} bytes")
    if len(tag) > MAX_TAG_SIZE:
        raise ValueError(f"coinbase tag over {MAX_TAG_SIZE} bytes")
    return height.to_bytes(HEIGHT_SIZE, "little") + extranonce + tag


def make_coinbase(
    height: int,
    outputs: Sequence[TxOut],
    extranonce: bytes = bytes(EXTRANONCE_SIZE),
    tag: bytes = b"",
    locktime: int = 0,
) -> Transaction:
    """A coinbase transaction for ``height`` paying ``outputs``."""
    return Transaction(
        COINBASE_VERSION, (), tuple(outputs), locktime, coinbase_extra(height, extranonce, tag), ()
    )


def coinbase_height(tx: Transaction) -> int:
    """The height a coinbase commits to (raises :class:`BadCoinbaseExtra` if it has none)."""
    if len(tx.extra) < HEIGHT_SIZE + EXTRANONCE_SIZE:
        raise BadCoinbaseExtra(f"coinbase extra of {len(tx.extra)} bytes is too short")
    if len(tx.extra) > HEIGHT_SIZE + EXTRANONCE_SIZE + MAX_TAG_SIZE:
        raise BadCoinbaseExtra(f"coinbase extra of {len(tx.extra)} bytes is too long")
    return int.from_bytes(tx.extra[:HEIGHT_SIZE], "little")


def extranonce_offset(tx: Transaction) -> int:
    """Byte offset of extranonce1 inside ``tx.encoded``."""
    prefix = b"\x96" + pack(tx.version) + pack(tx.inputs) + pack(tx.outputs) + pack(tx.locktime)
    bin_header = len(pack(tx.extra)) - len(tx.extra)
    return len(prefix) + bin_header + HEIGHT_SIZE


def split_coinbase(tx: Transaction) -> tuple[bytes, bytes]:
    """Cut a coinbase's encoding into Stratum's ``(coinb1, coinb2)`` around the 8-byte
    extranonce, so that ``coinb1 + extranonce1 + extranonce2 + coinb2 == tx.encoded``."""
    coinbase_height(tx)
    offset = extranonce_offset(tx)
    encoded = tx.encoded
    return encoded[:offset], encoded[offset + EXTRANONCE_SIZE :]
