"""Hash primitives and Bitcoin's hex convention for hashes. Standard library only."""

from __future__ import annotations

import hashlib

HASH_SIZE = 32
ZERO_HASH = bytes(HASH_SIZE)


def sha256d(data: bytes) -> bytes:
    """Double SHA-256, as Bitcoin hashes headers and transactions."""
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def hash_to_hex(h: bytes) -> str:
    """Show a hash in Bitcoin's convention: hex of the reversed (big-endian) bytes."""
    return h[::-1].hex()


def hex_to_hash(text: str) -> bytes:
    """Parse a hash shown by :func:`hash_to_hex` back into internal byte order.

    Raises ``ValueError`` unless ``text`` is exactly 64 hex digits.
    """
    if len(text) != 2 * HASH_SIZE:
        raise ValueError(f"a hash is {2 * HASH_SIZE} hex digits, got {len(text)}")
    return bytes.fromhex(text)[::-1]
