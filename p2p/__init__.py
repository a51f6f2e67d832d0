"""Talking to peers over the ``/p2p`` WebSocket (see docs/p2p.md).

May import ``consensus`` types and encoding, asyncio, aiohttp, msgpack and structlog; never
``node``, ``wallet``, ``pool``, ``mining`` or storage. It knows message types, not chain
choice: everything a peer sends is reported upward through ``PeerHandler``.
"""

from p2p.addrbook import AddressBook, AddressInfo, AddrRateLimiter
from p2p.address import NetAddress, canonical_address, format_address, host_of, parse_address
from p2p.backoff import Backoff
from p2p.codec import MAX_FRAME, WS_MAX_MSG_SIZE, decode_frame, encode_frame
from p2p.connmgr import P2P_PATH, ConnectionManager
from p2p.discourage import DiscouragedHosts
from p2p.errors import (
    ConnectFailed,
    ConnectionLimit,
    DisconnectReason,
    FrameTooLarge,
    HandshakeFailed,
    HandshakeTimeout,
    InvalidAddress,
    MalformedMessage,
    Misbehaving,
    P2PError,
    PeerDisconnected,
    PeerTimeout,
    SelfConnection,
    UnknownCommand,
    WrongChain,
)
from p2p.handler import PeerHandler, WebSocket
from p2p.handshake import LocalNode
from p2p.inventory import AnnouncementQueue, KnownInventory, batch_inventory
from p2p.messages import (
    INV_BLOCK,
    INV_TX,
    MESSAGE_TYPES,
    NODE_NETWORK,
    PROTOCOL_VERSION,
    Addr,
    AddrEntry,
    BlockMessage,
    FeeFilter,
    GetAddr,
    GetData,
    GetHeaders,
    Headers,
    Inv,
    InvItem,
    Mempool,
    Message,
    NotFound,
    Ping,
    Pong,
    SendCmpct,
    TxMessage,
    Verack,
    Version,
)
from p2p.peer import Peer
from p2p.relay import announce_to, broadcast_to
from p2p.settings import ConnectionConfig, PeerSettings
from p2p.stats import PeerStats

__all__ = [
    "INV_BLOCK",
    "INV_TX",
    "MAX_FRAME",
    "MESSAGE_TYPES",
    "NODE_NETWORK",
    "P2P_PATH",
    "PROTOCOL_VERSION",
    "WS_MAX_MSG_SIZE",
    "Addr",
    "AddrEntry",
    "AddrRateLimiter",
    "AddressBook",
    "AddressInfo",
    "AnnouncementQueue",
    "Backoff",
    "BlockMessage",
    "ConnectFailed",
    "ConnectionConfig",
    "ConnectionLimit",
    "ConnectionManager",
    "DisconnectReason",
    "DiscouragedHosts",
    "FeeFilter",
    "FrameTooLarge",
    "GetAddr",
    "GetData",
    "GetHeaders",
    "HandshakeFailed",
    "HandshakeTimeout",
    "Headers",
    "Inv",
    "InvItem",
    "InvalidAddress",
    "KnownInventory",
    "LocalNode",
    "MalformedMessage",
    "Mempool",
    "Message",
    "Misbehaving",
    "NetAddress",
    "NotFound",
    "P2PError",
    "Peer",
    "PeerDisconnected",
    "PeerHandler",
    "PeerSettings",
    "PeerStats",
    "PeerTimeout",
    "Ping",
    "Pong",
    "SelfConnection",
    "SendCmpct",
    "TxMessage",
    "UnknownCommand",
    "Verack",
    "Version",
    "WebSocket",
    "WrongChain",
    "announce_to",
    "batch_inventory",
    "broadcast_to",
    "canonical_address",
    "decode_frame",
    "encode_frame",
    "format_address",
    "host_of",
    "parse_address",
]
