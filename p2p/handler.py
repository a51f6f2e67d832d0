"""The interfaces around a peer: the WebSocket below it and the handler above it.

May import aiohttp and the rest of ``p2p``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import aiohttp

from p2p.errors import DisconnectReason
from p2p.messages import Message

if TYPE_CHECKING:
    from p2p.peer import Peer


class WebSocket(Protocol):
    """What a Peer needs of aiohttp's ``WebSocketResponse`` / ``ClientWebSocketResponse``."""

    @property
    def closed(self) -> bool: ...

    async def receive(self) -> aiohttp.WSMessage: ...

    async def send_bytes(self, data: bytes, compress: int | None = None) -> None: ...

    async def close(self, *, code: int = ..., message: bytes = ...) -> bool: ...


class PeerHandler(Protocol):
    """What sits above the peers (the connection manager, and above it the node).

    ``on_message`` is awaited before the peer reads its next frame, so a slow handler slows
    that peer down (and only that peer). Raise ``p2p.errors.Misbehaving`` to disconnect and
    discourage the peer; any other exception disconnects it without discouragement and is
    logged with its traceback. ``on_peer_disconnected`` is called once for every peer that
    got ``on_peer_connected``.
    """

    async def on_peer_connected(self, peer: Peer) -> None: ...

    async def on_message(self, peer: Peer, message: Message) -> None: ...

    async def on_peer_disconnected(self, peer: Peer, reason: DisconnectReason) -> None: ...
