"""P2P messages: one frozen dataclass per command, and the command registry.

May import ``consensus`` (types and encoding) and the standard library. Each message's payload
on the wire is a msgpack array of its fields in declaration order (``to_payload``);
``from_payload`` checks every field's type, range and length and raises
``MalformedMessage``. See docs/p2p.md for the wire format and every limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple, Self

from consensus.block import Block, BlockHeader
from consensus.encoding import U32_MAX, U63_MAX, read_bytes, read_int, read_list
from consensus.errors import ConsensusError
from consensus.params import ChainParams
from consensus.transaction import Transaction
from p2p.address import MAX_ADDRESS_LENGTH, canonical_address
from p2p.errors import InvalidAddress, MalformedMessage

PROTOCOL_VERSION = 1
MIN_PROTOCOL_VERSION = 1
NODE_NETWORK = 1  # service bit: serves the full block chain

U64_MAX = (1 << 64) - 1
HASH_SIZE = 32
HEADER_SIZE = 80
MAX_CHAIN_ID_LENGTH = 64
MAX_USER_AGENT_LENGTH = 256
MAX_INV_ITEMS = 50_000
MAX_LOCATOR_HASHES = 101
MAX_HEADERS = 2_000
MAX_ADDR_ENTRIES = 1_000

INV_TX = 1  # hash is the transaction's txid
INV_BLOCK = 2  # hash is the block header's hash
INV_TYPES = frozenset({INV_TX, INV_BLOCK})


class _PayloadError(Exception):
    """Raised by the field readers below; ``from_payload`` turns it into MalformedMessage."""


class InvItem(NamedTuple):
    type: int
    hash: bytes


class AddrEntry(NamedTuple):
    address: str  # canonical "ip:port"
    services: int
    last_seen: int  # Unix time


class Message:
    """Base of every message: ``command`` names it on the wire."""

    __slots__ = ()
    command: ClassVar[str]

    def to_payload(self) -> list[Any]:
        return []

    @classmethod
    def from_payload(cls, obj: Any, params: ChainParams) -> Self:
        """Build the message from its decoded payload; ``MalformedMessage`` on any deviation."""
        try:
            return cls._decode(obj, params)
        except (ConsensusError, _PayloadError, InvalidAddress) as exc:
            raise MalformedMessage(f"{cls.command}: {exc}") from None

    @classmethod
    def _decode(cls, obj: Any, params: ChainParams) -> Self:
        read_list(obj, cls.command, exact=0)
        return cls()


# --- field readers (consensus.encoding's raise DecodeError, a ConsensusError) --------------
def _fields(obj: Any, name: str, count: int) -> list[Any]:
    return read_list(obj, name, exact=count)


def _read_hash(value: Any, name: str) -> bytes:
    return read_bytes(value, name, exact=HASH_SIZE)


def _read_str(value: Any, name: str, max_chars: int) -> str:
    if type(value) is not str:
        raise _PayloadError(f"{name}: expected a string, got {type(value).__name__}")
    if len(value) > max_chars:
        raise _PayloadError(f"{name}: {len(value)} characters is over {max_chars}")
    if not value.isprintable():
        raise _PayloadError(f"{name}: non-printable characters")
    return value


def _read_bool(value: Any, name: str) -> bool:
    if type(value) is not bool:
        raise _PayloadError(f"{name}: expected a boolean, got {type(value).__name__}")
    return value


def _read_address(value: Any, name: str, *, allow_empty: bool, require_ip: bool) -> str:
    text = _read_str(value, name, MAX_ADDRESS_LENGTH)
    if not text and allow_empty:
        return text
    if canonical_address(text, require_ip=require_ip) != text:
        raise _PayloadError(f"{name}: {text!r} is not in canonical form")
    return text


def _read_inv_items(obj: Any, name: str) -> tuple[InvItem, ...]:
    items = read_list(obj, name, maximum=MAX_INV_ITEMS)
    result = []
    for index, item in enumerate(items):
        kind, hash_ = _fields(item, f"{name}[{index}]", 2)
        kind = read_int(kind, f"{name}[{index}].type", U32_MAX)
        if kind not in INV_TYPES:
            raise _PayloadError(f"{name}[{index}].type: unknown inventory type {kind}")
        result.append(InvItem(kind, _read_hash(hash_, f"{name}[{index}].hash")))
    return tuple(result)


# --- handshake and keep-alive ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Version(Message):
    command: ClassVar[str] = "version"
    protocol_version: int
    chain_id: bytes
    genesis_hash: bytes
    best_height: int
    services: int
    user_agent: str
    nonce: int  # random per connection: detects connecting to ourselves
    listen_address: str  # "host:port" this node accepts connections on, or ""
    timestamp: int

    def to_payload(self) -> list[Any]:
        return [
            self.protocol_version,
            self.chain_id,
            self.genesis_hash,
            self.best_height,
            self.services,
            self.user_agent,
            self.nonce,
            self.listen_address,
            self.timestamp,
        ]

    @classmethod
    def _decode(cls, obj: Any, params: ChainParams) -> Self:
        f = _fields(obj, "version", 9)
        return cls(
            protocol_version=read_int(f[0], "protocol_version", U32_MAX),
            chain_id=read_bytes(f[1], "chain_id", maximum=MAX_CHAIN_ID_LENGTH),
            genesis_hash=_read_hash(f[2], "genesis_hash"),
            best_height=read_int(f[3], "best_height", U32_MAX),
            services=read_int(f[4], "services", U64_MAX),
            user_agent=_read_str(f[5], "user_agent", MAX_USER_AGENT_LENGTH),
            nonce=read_int(f[6], "nonce", U64_MAX),
            listen_address=_read_address(
                f[7], "listen_address", allow_empty=True, require_ip=False
            ),
            timestamp=read_int(f[8], "timestamp", U63_MAX),
        )


@dataclass(frozen=True, slots=True)
class Verack(Message):
    command: ClassVar[str] = "verack"


@dataclass(frozen=True, slots=True)
class _NonceMessage(Message):
    nonce: int

    def to_payload(self) -> list[Any]:
        return [self.nonce]

    @classmethod
    def _decode(cls, obj: Any, params: ChainParams) -> Self:
        (nonce,) = _fields(obj, cls.command, 1)
        return cls(read_int(nonce, "nonce", U64_MAX))


@dataclass(frozen=True, slots=True)
class Ping(_NonceMessage):
    command: ClassVar[str] = "ping"


@dataclass(frozen=True, slots=True)
class Pong(_NonceMessage):
    command: ClassVar[str] = "pong"


# --- inventory and data ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _InventoryMessage(Message):
    items: tuple[InvItem, ...]

    def to_payload(self) -> list[Any]:
        return [[[item.type, item.hash] for item in self.items]]

    @classmethod
    def _decode(cls, obj: Any, params: ChainParams) -> Self:
        (items,) = _fields(obj, cls.command, 1)
        return cls(_read_inv_items(items, "items"))


@dataclass(frozen=True, slots=True)
class Inv(_InventoryMessage):
    """Announces transactions (by txid) and blocks (by hash) the sender has."""

    command: ClassVar[str] = "inv"


@dataclass(frozen=True, slots=True)
class GetData(_InventoryMessage):
    """Asks for the ``tx`` / ``block`` messages of announced items."""

    command: ClassVar[str] = "getdata"


@dataclass(frozen=True, slots=True)
class NotFound(_InventoryMessage):
    """Answers a ``getdata`` for items the sender does not have."""

    command: ClassVar[str] = "notfound"


@dataclass(frozen=True, slots=True)
class TxMessage(Message):
    command: ClassVar[str] = "tx"
    transaction: Transaction

    def to_payload(self) -> list[Any]:
        return [self.transaction.encoded]

    @classmethod
    def _decode(cls, obj: Any, params: ChainParams) -> Self:
        (data,) = _fields(obj, cls.command, 1)
        return cls(Transaction.decode(read_bytes(data, "transaction")))


@dataclass(frozen=True, slots=True)
class BlockMessage(Message):
    command: ClassVar[str] = "block"
    block: Block

    def to_payload(self) -> list[Any]:
        return [self.block.encoded]

    @classmethod
    def _decode(cls, obj: Any, params: ChainParams) -> Self:
        (data,) = _fields(obj, cls.command, 1)
        data = read_bytes(data, "block", maximum=params.max_block_size)
        return cls(Block.decode(data, params.max_block_size))


@dataclass(frozen=True, slots=True)
class GetHeaders(Message):
    command: ClassVar[str] = "getheaders"
    locator: tuple[bytes, ...]  # block hashes, newest first, thinning out (a block locator)
    stop_hash: bytes  # 32 zero bytes: as many headers as allowed

    def to_payload(self) -> list[Any]:
        return [list(self.locator), self.stop_hash]

    @classmethod
    def _decode(cls, obj: Any, params: ChainParams) -> Self:
        locator, stop_hash = _fields(obj, cls.command, 2)
        hashes = read_list(locator, "locator", maximum=MAX_LOCATOR_HASHES)
        return cls(
            tuple(_read_hash(h, f"locator[{i}]") for i, h in enumerate(hashes)),
            _read_hash(stop_hash, "stop_hash"),
        )


@dataclass(frozen=True, slots=True)
class Headers(Message):
    command: ClassVar[str] = "headers"
    headers: tuple[BlockHeader, ...]

    def to_payload(self) -> list[Any]:
        return [[header.encoded for header in self.headers]]

    @classmethod
    def _decode(cls, obj: Any, params: ChainParams) -> Self:
        (headers,) = _fields(obj, cls.command, 1)
        items = read_list(headers, "headers", maximum=MAX_HEADERS)
        return cls(
            tuple(
                BlockHeader.decode(read_bytes(h, f"headers[{i}]", exact=HEADER_SIZE))
                for i, h in enumerate(items)
            )
        )


@dataclass(frozen=True, slots=True)
class Mempool(Message):
    command: ClassVar[str] = "mempool"


# --- addresses ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class GetAddr(Message):
    command: ClassVar[str] = "getaddr"


@dataclass(frozen=True, slots=True)
class Addr(Message):
    command: ClassVar[str] = "addr"
    entries: tuple[AddrEntry, ...]

    def to_payload(self) -> list[Any]:
        return [[[e.address, e.services, e.last_seen] for e in self.entries]]

    @classmethod
    def _decode(cls, obj: Any, params: ChainParams) -> Self:
        (entries,) = _fields(obj, cls.command, 1)
        items = read_list(entries, "entries", maximum=MAX_ADDR_ENTRIES)
        result = []
        for i, item in enumerate(items):
            address, services, last_seen = _fields(item, f"entries[{i}]", 3)
            result.append(
                AddrEntry(
                    _read_address(address, f"entries[{i}].address", allow_empty=False,
                                  require_ip=True),
                    read_int(services, f"entries[{i}].services", U64_MAX),
                    read_int(last_seen, f"entries[{i}].last_seen", U63_MAX),
                )
            )
        return cls(tuple(result))


# --- optional negotiation -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SendCmpct(Message):
    """Compact-block relay negotiation (BIP 152 style); reserved for the stretch goal."""

    command: ClassVar[str] = "sendcmpct"
    announce: bool
    version: int

    def to_payload(self) -> list[Any]:
        return [self.announce, self.version]

    @classmethod
    def _decode(cls, obj: Any, params: ChainParams) -> Self:
        announce, version = _fields(obj, cls.command, 2)
        return cls(_read_bool(announce, "announce"), read_int(version, "version", U64_MAX))


@dataclass(frozen=True, slots=True)
class FeeFilter(Message):
    """Do not announce transactions paying less than ``fee_rate`` units per 1,000 bytes."""

    command: ClassVar[str] = "feefilter"
    fee_rate: int

    def to_payload(self) -> list[Any]:
        return [self.fee_rate]

    @classmethod
    def _decode(cls, obj: Any, params: ChainParams) -> Self:
        (fee_rate,) = _fields(obj, cls.command, 1)
        return cls(read_int(fee_rate, "fee_rate", U63_MAX))


MESSAGE_TYPES: Mapping[str, type[Message]] = MappingProxyType(
    {
        cls.command: cls
        for cls in (
            Version, Verack, Ping, Pong, Inv, GetData, NotFound, TxMessage, BlockMessage,
            GetHeaders, Headers, Mempool, GetAddr, Addr, SendCmpct, FeeFilter,
        )
    }
)
"""Command name -> message class: the commands this node understands."""
