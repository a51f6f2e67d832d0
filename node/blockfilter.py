"""Compact block filters: BIP 158's Golomb-coded sets, for light wallets (BIP 157's
``getcfilters`` and ``getcfheaders`` data; Bitcoin Core's ``-blockfilterindex``).

May import consensus and the standard library. Pure functions; ``node.filterindex`` stores what
they compute.

A block's *basic filter* holds every distinct non-empty lock its outputs pay to and every lock
its inputs spend (from the undo data), BIP 158's "basic" element set with locks in place of
scriptPubKeys. The construction is BIP 158's with one change, in the hash:

- each element is hashed to 64 bits with keyed BLAKE2b (``hashlib.blake2b(element,
  key=block_hash[:16], digest_size=8)``, read little-endian) in place of SipHash-2-4 with the
  same key (the standard library has no keyed SipHash; BLAKE2b is keyed, in C, and as uniform);
- the hashes are mapped to ``[0, N * M)`` by ``(hash * N * M) >> 64``, sorted, and their
  differences Golomb-Rice coded with ``P = 19`` (quotient in unary, ``1``s closed by a ``0``,
  then the 19 low bits, most significant first), ``M = 784931``;
- the filter is ``CompactSize(N) || bits``, the bits padded with zeros to a whole byte.

A wallet asks "may this block touch one of my locks?": a false positive costs it one block
download, with probability about ``1 / M`` per lock and block; there are no false negatives.

The *filter header* chains the filters as block headers chain blocks (BIP 157):
``header = sha256d(sha256d(filter) || previous header)``, 32 zero bytes before genesis.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from consensus.block import Block
from consensus.hashing import sha256d
from consensus.utxo import BlockUndo

P = 19
M = 784931
KEY_SIZE = 16
GENESIS_PREV_HEADER = bytes(32)


class FilterError(ValueError):
    """A filter's bytes do not decode (truncated, or a count its bits cannot hold)."""


def block_elements(block: Block, undo: BlockUndo) -> set[bytes]:
    """The basic filter's elements: the locks the block's outputs pay to and those its inputs
    spend (``undo``: the coins each non-coinbase transaction spent, in order)."""
    elements = {out.lock for tx in block.transactions for out in tx.outputs}
    elements.update(coin.lock for coins in undo for coin in coins)
    elements.discard(b"")
    return elements


def _hashed(key: bytes, elements: Iterable[bytes], n: int) -> list[int]:
    f = n * M
    blake2b = hashlib.blake2b
    return sorted(
        (int.from_bytes(blake2b(e, key=key, digest_size=8).digest(), "little") * f) >> 64
        for e in elements
    )


def build_filter(key: bytes, elements: Iterable[bytes]) -> bytes:
    """The Golomb-coded set of ``elements`` (distinct, non-empty) under ``key`` (the block hash's
    first 16 bytes)."""
    items = {e for e in elements if e}
    n = len(items)
    bits: list[str] = []
    last = 0
    mask = (1 << P) - 1
    for value in _hashed(key[:KEY_SIZE], items, n):
        delta = value - last
        last = value
        bits.append("1" * (delta >> P) + "0" + format(delta & mask, "019b"))
    text = "".join(bits)
    body = b""
    if text:
        text += "0" * (-len(text) % 8)
        body = int(text, 2).to_bytes(len(text) // 8, "big")
    return compact_size(n) + body


def decode_filter(data: bytes) -> list[int]:
    """The sorted hashed values a filter holds. Raises :class:`FilterError` if it is malformed."""
    n, offset = read_compact_size(data)
    body = data[offset:]
    if n > len(body) * 8 // (P + 1):  # every value takes at least P + 1 bits
        raise FilterError(f"a filter of {len(body)} bytes cannot hold {n} elements")
    text = format(int.from_bytes(body, "big"), f"0{len(body) * 8}b") if body else ""
    values: list[int] = []
    position = 0
    last = 0
    for _ in range(n):
        stop = text.find("0", position)
        if stop < 0 or stop + 1 + P > len(text):
            raise FilterError("the filter's bits end inside an element")
        last += ((stop - position) << P) | int(text[stop + 1 : stop + 1 + P], 2)
        values.append(last)
        position = stop + 1 + P
    return values


def match_any(data: bytes, key: bytes, queries: Iterable[bytes]) -> bool:
    """Whether the filter may hold one of ``queries`` (never a false "no")."""
    values = decode_filter(data)
    if not values:
        return False
    wanted = _hashed(key[:KEY_SIZE], {q for q in queries if q}, len(values))
    i = j = 0
    while i < len(values) and j < len(wanted):
        if values[i] == wanted[j]:
            return True
        if values[i] < wanted[j]:
            i += 1
        else:
            j += 1
    return False


def filter_header(data: bytes, previous_header: bytes) -> bytes:
    """BIP 157's filter header: ``sha256d(sha256d(filter) || previous_header)``."""
    return sha256d(sha256d(data) + previous_header)


def compact_size(n: int) -> bytes:
    if n < 0xFD:
        return bytes((n,))
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFF_FFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


def read_compact_size(data: bytes) -> tuple[int, int]:
    """``(n, bytes read)``; raises :class:`FilterError` when truncated."""
    if not data:
        raise FilterError("an empty filter has no element count")
    first = data[0]
    width = {0xFD: 2, 0xFE: 4, 0xFF: 8}.get(first, 0)
    if len(data) < 1 + width:
        raise FilterError("the filter's element count is truncated")
    if width == 0:
        return first, 1
    return int.from_bytes(data[1 : 1 + width], "little"), 1 + width
