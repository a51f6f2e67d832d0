"""Typed P2P errors, and the reason a peer was disconnected.

Imports nothing outside the standard library. Every error a peer can cause is a subclass of
``P2PError``; its class says whether the remote end provably broke the protocol
(``discourage = True``: the connection manager discourages its address) or the connection
merely failed (a timeout, a peer on another chain, a closed socket).
"""

from __future__ import annotations

from dataclasses import dataclass


class P2PError(Exception):
    """Base of every P2P error."""

    code = "p2p_error"
    # True: the remote end provably broke the protocol; its address is discouraged.
    discourage = False


class MalformedMessage(P2PError):
    """A frame that is not a well-formed message: bad msgpack, wrong type, range or length."""

    code = "malformed_message"
    discourage = True


class UnknownCommand(MalformedMessage):
    """A frame whose command is not in the registry."""

    code = "unknown_command"


class FrameTooLarge(MalformedMessage):
    """A frame over ``MAX_FRAME`` bytes (refused from its header, never read into memory)."""

    code = "frame_too_large"


class InvalidAddress(P2PError, ValueError):
    """A network address that is not ``host:port`` (raised by ``p2p.address``)."""

    code = "invalid_address"


class HandshakeFailed(P2PError):
    """The version/verack handshake did not complete."""

    code = "handshake_failed"


class WrongChain(HandshakeFailed):
    """The peer's chain_id or genesis hash differs from ours."""

    code = "wrong_chain"


class SelfConnection(HandshakeFailed):
    """The peer's version carries a nonce we sent ourselves: we dialled our own node."""

    code = "self_connection"


class HandshakeTimeout(HandshakeFailed):
    """The handshake did not finish before its deadline."""

    code = "handshake_timeout"


class Misbehaving(P2PError):
    """A protocol violation, raised by the peer itself or by the handler above it."""

    code = "misbehaving"
    discourage = True

    def __init__(self, reason: str, *, discourage: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.discourage = discourage


class PeerTimeout(P2PError):
    """A network wait passed its deadline: no pong, no traffic, or a send queue stuck full."""

    code = "peer_timeout"


class PeerDisconnected(P2PError):
    """The connection is closed (by the remote end, by us, or by shutdown)."""

    code = "peer_disconnected"


class ConnectFailed(P2PError):
    """An outbound dial failed before the WebSocket opened (refused, unreachable, timeout)."""

    code = "connect_failed"


class ConnectionLimit(P2PError):
    """No free connection slot (or the manager is shutting down)."""

    code = "connection_limit"


@dataclass(frozen=True, slots=True)
class DisconnectReason:
    """Why a peer's connection ended.

    ``code`` is a stable machine-readable word (an error class's ``code``, or ``closed``,
    ``local``, ``shutdown``, ``internal_error``); ``discourage`` says whether the remote end
    provably misbehaved and its address should be discouraged.
    """

    code: str
    detail: str = ""
    discourage: bool = False

    @classmethod
    def from_error(cls, error: P2PError) -> DisconnectReason:
        return cls(error.code, str(error), error.discourage)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


LOCAL_CLOSE = DisconnectReason("local", "closed by this node")
SHUTDOWN = DisconnectReason("shutdown", "node shutting down")
BANNED = DisconnectReason("banned", "its address was banned by the operator")
EVICTED = DisconnectReason("evicted", "its inbound slot went to a new peer (all were taken)")
NETWORK_OFF = DisconnectReason("network_inactive", "the operator turned network activity off")
CHAIN_SYNC_TIMEOUT = DisconnectReason(
    "chain_sync_timeout", "its best chain stayed behind ours for 20 minutes; headers did not help"
)
EXTRA_OUTBOUND = DisconnectReason(
    "extra_outbound", "one outbound peer too many, after a stale tip's extra was tried"
)
