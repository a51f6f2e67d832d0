"""Block headers (Bitcoin's 80 bytes) and blocks (header + canonical msgpack transaction list).

May import msgpack and the standard library.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import msgpack

from consensus.cached import cached_property
from consensus.encoding import pack, read_list, unpack_limited
from consensus.errors import BlockTooLarge, DecodeError, NonCanonicalEncoding
from consensus.hashing import hash_to_hex, sha256d
from consensus.merkle import merkle_root
from consensus.transaction import MAX_TX_SIZE, Transaction

HEADER_SIZE = 80
_HEADER = struct.Struct("<I32s32sIII")
# The smallest transaction encodes in well over 8 bytes, so no block within any network's size
# limit can carry more transactions than this; the unpacker refuses longer arrays up front.
MAX_BLOCK_TXS = 1_048_576 // 8


@dataclass(frozen=True, eq=False)
class BlockHeader:
    """Bitcoin's header: ``version | prev_block | merkle_root | time | bits | nonce``."""

    version: int
    prev_hash: bytes
    merkle_root: bytes
    time: int
    bits: int
    nonce: int

    @cached_property
    def encoded(self) -> bytes:
        return _HEADER.pack(
            self.version, self.prev_hash, self.merkle_root, self.time, self.bits, self.nonce
        )

    @cached_property
    def hash(self) -> bytes:
        return sha256d(self.encoded)

    @property
    def hash_hex(self) -> str:
        return hash_to_hex(self.hash)

    @classmethod
    def decode(cls, data: bytes) -> BlockHeader:
        if len(data) != HEADER_SIZE:
            raise DecodeError(f"a header is {HEADER_SIZE} bytes, got {len(data)}")
        header = cls(*_HEADER.unpack(data))
        header.__dict__["encoded"] = bytes(data)
        return header

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BlockHeader) and self.encoded == other.encoded

    def __hash__(self) -> int:
        return hash(self.hash)

    def __repr__(self) -> str:
        return f"BlockHeader({self.hash_hex})"


@dataclass(frozen=True, eq=False)
class Block:
    header: BlockHeader
    transactions: tuple[Transaction, ...]

    @cached_property
    def encoded(self) -> bytes:
        return self.header.encoded + _pack_tx_list(self.transactions)

    @property
    def hash(self) -> bytes:
        return self.header.hash

    @property
    def hash_hex(self) -> str:
        return self.header.hash_hex

    @property
    def size(self) -> int:
        return len(self.encoded)

    def compute_merkle_root(self) -> tuple[bytes, bool]:
        """The merkle root over the wtxids and whether the list is a CVE-2012-2459 mutation."""
        return merkle_root([tx.wtxid for tx in self.transactions])

    @classmethod
    def decode(cls, data: bytes, max_size: int) -> Block:
        """Strictly decode a block of at most ``max_size`` bytes."""
        if len(data) > max_size:
            raise BlockTooLarge(f"block of {len(data)} bytes is over {max_size}")
        if len(data) <= HEADER_SIZE:
            raise DecodeError("block shorter than a header and a transaction list")
        header = BlockHeader.decode(data[:HEADER_SIZE])
        body = bytes(data[HEADER_SIZE:])
        obj = unpack_limited(body, max_bin_len=MAX_TX_SIZE, max_array_len=MAX_BLOCK_TXS)
        items = read_list(obj, "transactions")
        if pack(obj) != body:
            raise NonCanonicalEncoding("block body is not canonical msgpack")
        # The body is canonical, so each transaction's encoding is its slice of the body: walk
        # the array with the unpacker's offsets instead of packing every transaction again.
        transactions = tuple(Transaction.from_wire(item) for item in items)
        unpacker = msgpack.Unpacker(
            max_buffer_size=len(body),
            max_bin_len=MAX_TX_SIZE,
            max_array_len=MAX_BLOCK_TXS,
            max_map_len=0,
            max_ext_len=0,
            max_str_len=0,
        )
        unpacker.feed(body)
        unpacker.read_array_header()
        start = unpacker.tell()
        for tx in transactions:
            unpacker.skip()
            end = unpacker.tell()
            tx.__dict__["encoded"] = body[start:end]
            start = end
        block = cls(header, transactions)
        block.__dict__["encoded"] = bytes(data)
        return block

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Block) and self.encoded == other.encoded

    def __hash__(self) -> int:
        return hash(self.header.hash)

    def __repr__(self) -> str:
        return f"Block({self.hash_hex}, txs={len(self.transactions)})"


def _array_header(n: int) -> bytes:
    if n < 16:
        return bytes([0x90 | n])
    if n < 0x10000:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


def _pack_tx_list(transactions: tuple[Transaction, ...]) -> bytes:
    """The canonical msgpack array of the transactions, reusing each one's own encoding."""
    return _array_header(len(transactions)) + b"".join(tx.encoded for tx in transactions)


def wire_block(header: BlockHeader, encoded: bytes) -> Block:
    """A block to send as it is: its header (for the peer's known inventory) and its encoding,
    with no decoded transactions (decoding a stored block's transactions costs more than the
    rest of serving it; a connected block's would only take memory). Only for sending."""
    sent = Block(header, ())
    sent.__dict__["encoded"] = encoded  # as Block.decode caches it
    return sent
