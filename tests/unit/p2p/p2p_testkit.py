"""Helpers for the p2p unit tests: fast settings, a recording handler, a scripted WebSocket
client, a fake WebSocket for driving a Peer without a network, and a polled wait."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web

from consensus.params import REGTEST, ChainParams
from consensus.transaction import OutPoint, Transaction, TxOut, Witness
from p2p import (
    ConnectionConfig,
    ConnectionManager,
    DisconnectReason,
    Message,
    Peer,
    PeerSettings,
    Verack,
    Version,
    decode_frame,
    encode_frame,
)
from p2p.handshake import LocalNode, make_version

FAST = PeerSettings(
    handshake_timeout=2.0,
    ping_interval=30.0,
    pong_timeout=2.0,
    idle_timeout=30.0,
    send_timeout=2.0,
    write_timeout=5.0,
    close_timeout=0.5,
)


def config(**overrides: Any) -> ConnectionConfig:
    base: dict[str, Any] = dict(
        bind_host="127.0.0.1", bind_port=0, peer=FAST, dial_from_addrbook=False,
        connect_timeout=2.0,
    )
    base.update(overrides)
    return ConnectionConfig(**base)


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RecordingHandler:
    """A PeerHandler that records everything; ``on_message_hook`` may raise."""

    def __init__(self) -> None:
        self.connected: list[Peer] = []
        self.messages: list[tuple[Peer, Message]] = []
        self.disconnected: list[tuple[Peer, DisconnectReason]] = []
        self.on_message_hook: Callable[[Peer, Message], None] | None = None

    async def on_peer_connected(self, peer: Peer) -> None:
        self.connected.append(peer)

    async def on_message(self, peer: Peer, message: Message) -> None:
        self.messages.append((peer, message))
        if self.on_message_hook is not None:
            self.on_message_hook(peer, message)

    async def on_peer_disconnected(self, peer: Peer, reason: DisconnectReason) -> None:
        self.disconnected.append((peer, reason))

    def received(self, command: str) -> list[Message]:
        return [m for _, m in self.messages if m.command == command]


async def wait_until(predicate: Callable[[], bool], within: float = 5.0) -> None:
    """Poll ``predicate`` until true; fail the test past ``within`` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def manager(
    handler: RecordingHandler | None = None,
    params: ChainParams = REGTEST,
    **kwargs: Any,
) -> AsyncIterator[ConnectionManager]:
    cm_kwargs = {k: kwargs.pop(k) for k in ("addrbook", "clock", "on_eviction") if k in kwargs}
    cm = ConnectionManager(params, handler or RecordingHandler(), config(**kwargs), **cm_kwargs)
    async with cm:
        yield cm


def sample_tx(seed: int = 0) -> Transaction:
    return Transaction(
        1,
        (OutPoint(bytes([seed]) * 32, seed),),
        (TxOut(5_000 + seed, b"\x00" + bytes([seed]) * 20),),
        0,
        b"",
        (Witness(bytes(32), bytes(64)),),
    )


def other_chain(params: ChainParams = REGTEST, **changes: Any) -> ChainParams:
    return dataclasses.replace(params, **changes)


# --- a scripted remote end over a real WebSocket --------------------------------------------
class ScriptedClient:
    """A raw WebSocket client that speaks frames by hand."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, params: ChainParams) -> None:
        self.ws = ws
        self.params = params

    async def send(self, message: Message) -> None:
        await self.ws.send_bytes(encode_frame(message))

    async def send_raw(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

    async def receive(self, within: float = 3.0) -> aiohttp.WSMessage:
        return await self.ws.receive(timeout=within)

    async def receive_message(self, within: float = 3.0) -> Message:
        frame = await self.receive(within)
        assert frame.type is WSMsgType.BINARY, frame
        return decode_frame(frame.data, self.params)

    async def handshake(self, nonce: int = 12345, params: ChainParams | None = None) -> Version:
        local = LocalNode(params or self.params, user_agent="/scripted/")
        await self.send(make_version(local, nonce))
        theirs = await self.receive_message()
        assert isinstance(theirs, Version)
        await self.send(Verack())
        assert isinstance(await self.receive_message(), Verack)
        return theirs

    async def wait_closed(self, within: float = 3.0) -> tuple[int | None, str]:
        """Read until the server closes; returns (close code, close message)."""
        async with asyncio.timeout(within):
            while True:
                frame = await self.ws.receive()
                if frame.type is WSMsgType.CLOSE:
                    return frame.data, frame.extra or ""
                if frame.type in (WSMsgType.CLOSED, WSMsgType.CLOSING, WSMsgType.ERROR):
                    return self.ws.close_code, ""


@contextlib.asynccontextmanager
async def scripted_client(
    port: int, params: ChainParams = REGTEST
) -> AsyncIterator[ScriptedClient]:
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"http://127.0.0.1:{port}/p2p", autoclose=False)
        try:
            yield ScriptedClient(ws, params)
        finally:
            await ws.close()


@contextlib.asynccontextmanager
async def scripted_server(
    handler: Callable[[web.WebSocketResponse], Any],
) -> AsyncIterator[int]:
    """A WebSocket server on /p2p that runs ``handler(ws)``; yields its port."""

    async def serve(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await handler(ws)
        return ws

    app = web.Application()
    app.router.add_get("/p2p", serve)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


# --- a fake WebSocket: drives a Peer without a network ---------------------------------------
class FakeWebSocket:
    """Frames the test feeds come out of ``receive``; what the peer sends lands in ``sent``.
    With ``stall_writes`` every ``send_bytes`` blocks until the socket is closed."""

    def __init__(self, params: ChainParams = REGTEST) -> None:
        self.params = params
        self.incoming: asyncio.Queue[aiohttp.WSMessage] = asyncio.Queue()
        self.sent: list[bytes] = []
        self.sent_event = asyncio.Event()
        self.stall_writes = False
        self._closed = asyncio.Event()
        self.close_code: int | None = None
        self.close_message = b""

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def feed(self, message: Message | bytes) -> None:
        data = message if isinstance(message, bytes) else encode_frame(message)
        self.incoming.put_nowait(aiohttp.WSMessage(WSMsgType.BINARY, data, None))

    def feed_raw(self, frame: aiohttp.WSMessage) -> None:
        self.incoming.put_nowait(frame)

    async def receive(self) -> aiohttp.WSMessage:
        getter = asyncio.ensure_future(self.incoming.get())
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            getter.cancel()
            closed.cancel()
        if getter.done() and not getter.cancelled():
            return getter.result()
        return aiohttp.WSMessage(WSMsgType.CLOSED, None, None)

    async def send_bytes(self, data: bytes, compress: int | None = None) -> None:
        if self.stall_writes:
            await self._closed.wait()
            raise ConnectionResetError("closed")
        if self.closed:
            raise ConnectionResetError("closed")
        self.sent.append(data)
        self.sent_event.set()

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        if self.closed:
            return False
        self.close_code, self.close_message = code, message
        self._closed.set()
        return True

    def sent_messages(self) -> list[Message]:
        return [decode_frame(data, self.params) for data in self.sent]


def fake_peer(
    handler: RecordingHandler | None = None,
    *,
    params: ChainParams = REGTEST,
    settings: PeerSettings = FAST,
    nonce: int = 1,
) -> tuple[Peer, FakeWebSocket, RecordingHandler]:
    ws = FakeWebSocket(params)
    handler = handler or RecordingHandler()
    peer = Peer(ws, address="127.0.0.9:5000", inbound=True, local=LocalNode(params),
                handler=handler, settings=settings, nonce=nonce)
    return peer, ws, handler


def remote_version(params: ChainParams = REGTEST, nonce: int = 99) -> Version:
    return make_version(LocalNode(params, user_agent="/remote/"), nonce)
