"""Hostile remote ends: oversized and malformed frames, unknown commands, stalled handshakes,
discouragement. Each is disconnected alone while the other peers keep working."""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from dataclasses import replace

import aiohttp
import msgpack
import pytest
from aiohttp import WSCloseCode, web
from p2p_testkit import (
    FAST,
    FakeClock,
    RecordingHandler,
    manager,
    sample_tx,
    scripted_client,
    scripted_server,
    wait_until,
)

from p2p import MAX_FRAME, FrameTooLarge, Message, Misbehaving, Peer, Ping, TxMessage

DAY = 24 * 60 * 60


async def raw_upgrade(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open /p2p by hand: a plain TCP socket and the HTTP upgrade."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /p2p HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


async def read_server_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first, second = await reader.readexactly(2)
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", await reader.readexactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", await reader.readexactly(8))
    return first & 0x0F, await reader.readexactly(length)


async def test_frame_over_the_limit_closes_before_the_payload_is_sent() -> None:
    handler = RecordingHandler()
    async with manager(handler) as server, manager() as honest:
        good = await honest.connect(f"127.0.0.1:{server.port}")
        reader, writer = await raw_upgrade(server.port)
        # A masked binary frame header announcing MAX_FRAME + 1 bytes, and no payload at all:
        # the server can only react to the header.
        writer.write(bytes([0x82, 0x80 | 127]) + struct.pack("!Q", MAX_FRAME + 1) + b"mask")
        await writer.drain()
        close_code = None
        async with asyncio.timeout(3):
            while close_code is None:
                opcode, payload = await read_server_frame(reader)
                if opcode == 0x8:
                    close_code = struct.unpack("!H", payload[:2])[0]
            assert await reader.read() == b""  # and the TCP connection is gone
        writer.close()
        assert close_code == WSCloseCode.MESSAGE_TOO_BIG
        await wait_until(lambda: server.is_discouraged("127.0.0.1"))
        assert await good.ping() > 0  # the other peer is unaffected
        assert len(server.peers()) == 1


async def test_frame_of_exactly_the_limit_is_read_and_judged() -> None:
    async with manager() as server, scripted_client(server.port) as client:
        await client.handshake()
        await client.send_raw(b"\x00" * MAX_FRAME)  # passes the size check, fails decoding
        code, message = await client.wait_closed()
        assert code == WSCloseCode.POLICY_VIOLATION and message == "malformed_message"


async def test_outbound_peer_refuses_an_oversized_frame() -> None:
    async def flood(ws: web.WebSocketResponse) -> None:
        await ws.send_bytes(b"\x00" * (MAX_FRAME + 1))
        await ws.receive()

    async with scripted_server(flood) as port, manager() as a:
        with pytest.raises(FrameTooLarge):
            await a.connect(f"127.0.0.1:{port}")
        assert a.is_discouraged("127.0.0.1")


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"\xc1\xc1\xc1", "malformed_message"),
        (msgpack.packb(["ping", {"nonce": 1}]), "malformed_message"),
        (msgpack.packb(["ping", [1]]) + b"\x00", "malformed_message"),
        (msgpack.packb(["getblocks", []]), "unknown_command"),
    ],
)
async def test_malformed_frame_closes_only_that_peer(frame: bytes, reason: str) -> None:
    handler = RecordingHandler()
    async with manager(handler) as server, manager() as honest:
        good = await honest.connect(f"127.0.0.1:{server.port}")
        async with scripted_client(server.port) as client:
            await client.handshake()
            await client.send_raw(frame)
            code, message = await client.wait_closed()
        assert code == WSCloseCode.POLICY_VIOLATION and message == reason
        assert server.is_discouraged("127.0.0.1")
        assert await good.ping() > 0
        await good.send(TxMessage(sample_tx()))
        await wait_until(lambda: bool(handler.received("tx")))
        codes = [r.code for _, r in handler.disconnected]
        assert codes == [reason]


async def test_text_frames_are_refused() -> None:
    async with manager() as server, scripted_client(server.port) as client:
        await client.handshake()
        await client.ws.send_str("hello")
        _code, message = await client.wait_closed()
        assert message == "malformed_message"


async def test_a_client_that_never_finishes_the_handshake_is_closed() -> None:
    settings = replace(FAST, handshake_timeout=0.2)
    async with manager(peer=settings) as server, scripted_client(server.port) as client:
        started = asyncio.get_running_loop().time()
        _code, message = await client.wait_closed()
        elapsed = asyncio.get_running_loop().time() - started
        assert message == "handshake_timeout" and 0.15 < elapsed < 2
        await wait_until(lambda: server.inbound_count == 0)
        assert not server.is_discouraged("127.0.0.1")


async def test_discouragement_refuses_a_reconnect_until_it_expires() -> None:
    clock = FakeClock()
    handler = RecordingHandler()

    def judge(peer: Peer, message: Message) -> None:
        if isinstance(message, Ping) and message.nonce == 666:
            raise Misbehaving("sent the number of the beast")

    handler.on_message_hook = judge
    async with manager(handler, clock=clock) as server:
        async with scripted_client(server.port) as client:
            await client.handshake()
            await client.send(Ping(666))
            _code, message = await client.wait_closed()
            assert message == "misbehaving"
        assert server.is_discouraged("127.0.0.1")
        with pytest.raises(aiohttp.WSServerHandshakeError) as excinfo:
            async with scripted_client(server.port):
                pass
        assert excinfo.value.status == 403
        clock.now += DAY - 1
        with pytest.raises(aiohttp.WSServerHandshakeError):
            async with scripted_client(server.port):
                pass
        clock.now += 2
        async with scripted_client(server.port) as client:
            await client.handshake()  # welcome back
