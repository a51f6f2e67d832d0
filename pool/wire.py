"""Stratum v1 byte orders, difficulty and JSON-RPC lines, as real mining software expects them.

Standard library only. The rules, checked against cpuminer's ``stratum_gen_work`` (see
docs/pool.md for worked examples):

* ``prevhash`` in ``mining.notify`` is the 32-byte previous block hash in internal byte order
  with each of its eight 4-byte words byte-reversed (cpuminer reads each word with ``le32dec``
  and hashes it big-endian). Equivalently: the display hex with its 8-digit groups in reverse
  order. The same function converts both ways.
* ``version``, ``nbits``, ``ntime`` in ``mining.notify`` and ``ntime``, ``nonce`` (and BIP 310
  ``version_bits``) in ``mining.submit`` are the big-endian hex of the u32 value (8 digits);
  the header stores them little-endian.
* ``coinb1``, ``coinb2``, ``extranonce1``, ``extranonce2`` and the merkle branch hashes are plain
  hex of the bytes as they are hashed (branch hashes in internal order).
* Difficulty 1 is Bitcoin's: target ``0xFFFF * 2**208`` (``0x00000000FFFF0000...``); a share
  of difficulty ``d`` meets target ``floor(DIFF1_TARGET / d)``, as cpuminer's
  ``diff_to_target``. Fractional difficulties are allowed (regtest and test networks need them).
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from typing import Any

DIFF1_TARGET = 0xFFFF << 208
# The smallest difficulty the pool sends. cpuminer's diff_to_target computes 0xFFFF0000 / d in a
# uint64, which overflows (undefined behaviour) below 2**-32; at 2**-32 the target is already
# 0xFFFF << 240, so a lower difficulty would not make shares noticeably easier anyway.
MIN_DIFFICULTY = 2.0**-32
MAX_TARGET = (1 << 256) - 1
U32_HEX_DIGITS = 8
_HEX = frozenset("0123456789abcdefABCDEF")


# --- byte orders ------------------------------------------------------------------------------
def swap_words(data: bytes) -> bytes:
    """Reverse the bytes of every 4-byte word (its own inverse)."""
    if len(data) % 4:
        raise ValueError("length must be a multiple of 4")
    return b"".join(data[i : i + 4][::-1] for i in range(0, len(data), 4))


def prevhash_to_stratum(previous_hash: bytes) -> str:
    """The ``mining.notify`` prevhash of an internal-order 32-byte hash."""
    if len(previous_hash) != 32:
        raise ValueError("a block hash is 32 bytes")
    return swap_words(previous_hash).hex()


def stratum_to_prevhash(text: str) -> bytes:
    """The internal-order previous block hash of a ``mining.notify`` prevhash."""
    data = bytes.fromhex(text)
    if len(data) != 32:
        raise ValueError("prevhash is 64 hex digits")
    return swap_words(data)


def u32_hex(value: int) -> str:
    """A u32 as Stratum sends it: 8 big-endian hex digits."""
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"{value} is not a u32")
    return f"{value:08x}"


def parse_u32_hex(text: object) -> int:
    """8 hex digits (either case) to a u32; ``ValueError`` otherwise."""
    if not isinstance(text, str) or len(text) != U32_HEX_DIGITS or not _HEX.issuperset(text):
        raise ValueError(f"expected {U32_HEX_DIGITS} hex digits, got {text!r}")
    return int(text, 16)


def parse_fixed_hex(text: object, size: int) -> bytes:
    """Exactly ``size`` bytes of hex; ``ValueError`` otherwise."""
    if not isinstance(text, str) or len(text) != 2 * size or not _HEX.issuperset(text):
        raise ValueError(f"expected {2 * size} hex digits, got {text!r}")
    return bytes.fromhex(text)


# --- difficulty -------------------------------------------------------------------------------
def difficulty_to_target(difficulty: float) -> int:
    """``floor(DIFF1_TARGET / difficulty)``, computed exactly from the float's value."""
    if not math.isfinite(difficulty) or difficulty <= 0:
        raise ValueError(f"difficulty must be a positive number, got {difficulty}")
    ratio = Fraction(difficulty)
    return min(MAX_TARGET, DIFF1_TARGET * ratio.denominator // ratio.numerator)


def target_to_difficulty(target: int) -> float:
    """The difficulty a target stands for (display only: floats never touch an amount)."""
    if target <= 0:
        raise ValueError("a target is positive")
    return DIFF1_TARGET / target


def target_work(target: int) -> int:
    """Expected hashes to meet ``target``: ``2**256 // (target + 1)`` (Bitcoin's block work)."""
    return (1 << 256) // (target + 1)


def quantize_difficulty(difficulty: float) -> float:
    """The nearest power of two (exact as a float and in JSON)."""
    return float(2.0 ** round(math.log2(difficulty)))


def network_difficulty_cap(network_target: int) -> float:
    """The network's difficulty, rounded down a hair: a share target at it is never below the
    network target (not even after a miner's own 64-bit truncation, as cpuminer's), so a header
    that is a block is always a share."""
    difficulty = DIFF1_TARGET / network_target * (1 - 1e-9)
    while difficulty_to_target(difficulty) < network_target:  # guard the float rounding
        difficulty = math.nextafter(difficulty, 0.0)
    return difficulty


def difficulty_json(difficulty: float) -> int | float:
    """What ``mining.set_difficulty`` sends: an integer when the value is whole."""
    return int(difficulty) if difficulty >= 1 and difficulty.is_integer() else difficulty


# --- JSON-RPC lines ---------------------------------------------------------------------------
def encode_line(message: dict[str, Any]) -> bytes:
    """One newline-terminated JSON object, compact."""
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def response(request_id: Any, result: Any, error: list[object] | None = None) -> bytes:
    return encode_line({"id": request_id, "result": result, "error": error})


def notification(method: str, params: list[Any]) -> bytes:
    return encode_line({"id": None, "method": method, "params": params})
