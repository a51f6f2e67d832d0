"""A Peer driven through a fake WebSocket: handshake rules, loops, deadlines, backpressure."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import aiohttp
import pytest
from aiohttp import WSCloseCode, WSMsgType
from p2p_testkit import (
    FAST,
    FakeWebSocket,
    RecordingHandler,
    fake_peer,
    other_chain,
    remote_version,
    sample_tx,
    wait_until,
)

from p2p import (
    INV_TX,
    DisconnectReason,
    HandshakeTimeout,
    Inv,
    InvItem,
    Message,
    Misbehaving,
    P2PError,
    Peer,
    Ping,
    Pong,
    SelfConnection,
    TxMessage,
    Verack,
    Version,
    WrongChain,
)


async def handshaken(
    **kwargs: Any,
) -> tuple[Peer, FakeWebSocket, RecordingHandler, asyncio.Task[DisconnectReason]]:
    peer, ws, handler = fake_peer(**kwargs)
    ws.feed(remote_version())
    ws.feed(Verack())
    task = asyncio.create_task(peer.run())
    await asyncio.wait_for(peer.wait_ready(), 2)
    return peer, ws, handler, task


async def test_handshake_then_messages_reach_the_handler() -> None:
    peer, ws, handler, task = await handshaken()
    sent = ws.sent_messages()
    assert isinstance(sent[0], Version) and sent[0].nonce == 1 and sent[1] == Verack()
    assert peer.remote_version is not None and peer.remote_version.user_agent == "/remote/"
    ws.feed(TxMessage(sample_tx()))
    await wait_until(lambda: len(handler.messages) == 1)
    assert handler.connected == [peer] and peer.connected
    assert sample_tx().txid in peer.known_inventory
    assert peer.stats.messages_in_by_command["tx"] == 1
    await peer.aclose()
    reason = await task
    assert reason.code == "local" and not reason.discourage
    assert handler.disconnected == [(peer, reason)]
    assert ws.close_code == WSCloseCode.OK
    await peer.aclose()  # idempotent


async def test_ping_is_answered_and_latency_measured() -> None:
    peer, ws, _handler, task = await handshaken()
    ws.feed(Ping(77))
    await wait_until(lambda: Pong(77) in ws.sent_messages())
    pinging = asyncio.create_task(peer.ping())
    await wait_until(lambda: any(isinstance(m, Ping) for m in ws.sent_messages()))
    nonce = next(m.nonce for m in ws.sent_messages() if isinstance(m, Ping))
    ws.feed(Pong(nonce + 1))  # unsolicited pong: ignored
    ws.feed(Pong(nonce))
    latency = await asyncio.wait_for(pinging, 2)
    assert latency >= 0 and peer.latency == latency and peer.stats.min_latency == latency
    await peer.aclose()
    await task


async def test_missing_pong_disconnects() -> None:
    peer, _ws, _handler, task = await handshaken()
    with pytest.raises(Exception) as excinfo:
        await peer.ping(deadline=0.05)
    assert type(excinfo.value).__name__ == "PeerTimeout"
    reason = await asyncio.wait_for(task, 2)
    assert reason.code == "peer_timeout" and not reason.discourage


async def test_ping_loop_drops_a_silent_peer() -> None:
    settings = dataclasses.replace(FAST, ping_interval=0.05, pong_timeout=0.05)
    _peer, _ws, _handler, task = await handshaken(settings=settings)
    reason = await asyncio.wait_for(task, 2)
    assert reason.code == "peer_timeout"


@pytest.mark.parametrize(
    ("first", "error_code"),
    [
        (remote_version(other_chain(chain_id=b"seedchain-other")), WrongChain.code),
        (remote_version(other_chain(genesis_tag=b"another genesis")), WrongChain.code),
        (remote_version(nonce=1), SelfConnection.code),  # our own nonce
        (Ping(1), Misbehaving.code),  # not a version first
    ],
)
async def test_handshake_refusals(first: Message, error_code: str) -> None:
    peer, ws, handler = fake_peer()
    ws.feed(first)
    reason = await asyncio.wait_for(peer.run(), 2)
    assert reason.code == error_code
    assert handler.connected == [] and handler.disconnected == []  # never connected
    with pytest.raises(Exception) as excinfo:
        await peer.wait_ready()
    assert isinstance(excinfo.value, P2PError)  # wait_ready raises the P2PError that ended it
    assert excinfo.value.code == error_code


async def test_verack_must_follow_version() -> None:
    peer, ws, _handler = fake_peer()
    ws.feed(remote_version())
    ws.feed(Ping(5))
    reason = await asyncio.wait_for(peer.run(), 2)
    assert reason.code == "misbehaving" and reason.discourage


async def test_handshake_deadline() -> None:
    settings = dataclasses.replace(FAST, handshake_timeout=0.1)
    peer, ws, _handler = fake_peer(settings=settings)
    ws.feed(remote_version())  # and never a verack
    reason = await asyncio.wait_for(peer.run(), 2)
    assert reason.code == HandshakeTimeout.code and not reason.discourage


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (aiohttp.WSMessage(WSMsgType.BINARY, b"\xc1", None), "malformed_message"),
        (aiohttp.WSMessage(WSMsgType.TEXT, "hello", None), "malformed_message"),
        (aiohttp.WSMessage(WSMsgType.BINARY, b"\x92\xa5nosuc\x90", None), "unknown_command"),
        (aiohttp.WSMessage(WSMsgType.ERROR, aiohttp.WebSocketError(
            WSCloseCode.MESSAGE_TOO_BIG, "too big"), None), "frame_too_large"),
        (aiohttp.WSMessage(WSMsgType.ERROR, aiohttp.WebSocketError(
            WSCloseCode.PROTOCOL_ERROR, "bad opcode"), None), "malformed_message"),
    ],
)
async def test_misbehaviour_closes_and_discourages(frame: aiohttp.WSMessage, code: str) -> None:
    peer, ws, handler, task = await handshaken()
    ws.feed_raw(frame)
    reason = await asyncio.wait_for(task, 2)
    assert reason.code == code and reason.discourage
    assert ws.close_code == WSCloseCode.POLICY_VIOLATION and ws.close_message == code.encode()
    assert handler.disconnected == [(peer, reason)]


async def test_second_version_is_misbehaviour() -> None:
    _peer, ws, _handler, task = await handshaken()
    ws.feed(remote_version())
    reason = await asyncio.wait_for(task, 2)
    assert reason.code == "misbehaving" and reason.discourage


async def test_handler_verdicts() -> None:
    _, ws, handler, task = await handshaken()

    def punish(peer: Peer, message: Message) -> None:
        raise Misbehaving("sent an invalid block")

    handler.on_message_hook = punish
    ws.feed(Ping(1))
    reason = await asyncio.wait_for(task, 2)
    assert reason.code == "misbehaving" and reason.detail == "sent an invalid block"

    peer, ws, handler, task = await handshaken()

    def crash(peer: Peer, message: Message) -> None:
        raise KeyError("bug in the node")

    handler.on_message_hook = crash
    assert peer.connected
    ws.feed(Ping(1))
    reason = await asyncio.wait_for(task, 2)
    assert reason.code == "internal_error" and not reason.discourage


async def test_reader_waits_for_the_handler() -> None:
    peer, ws, _handler, task = await handshaken()
    gate = asyncio.Event()
    seen: list[int] = []

    class Slow:
        async def on_peer_connected(self, peer: Peer) -> None:
            pass

        async def on_message(self, peer: Peer, message: Message) -> None:
            assert isinstance(message, Pong)  # the test feeds only pongs
            seen.append(message.nonce)
            await gate.wait()

        async def on_peer_disconnected(self, peer: Peer, reason: DisconnectReason) -> None:
            pass

    peer._handler = Slow()  # swap in a handler that blocks
    ws.feed(Pong(1))
    ws.feed(Pong(2))
    await wait_until(lambda: seen == [1])
    await asyncio.sleep(0.05)
    assert seen == [1]  # the second frame is not read while the first is being handled
    gate.set()
    await wait_until(lambda: seen == [1, 2])
    await peer.aclose()
    await task


async def test_full_send_queue_past_its_deadline_disconnects() -> None:
    settings = dataclasses.replace(FAST, send_timeout=0.1, max_send_queue_frames=2)
    peer, ws, _handler, task = await handshaken(settings=settings)
    ws.stall_writes = True  # the remote end stops reading
    for nonce in range(3):  # one in the writer, two queued
        await peer.send(Ping(nonce))
    assert not peer.try_send(Ping(9))
    with pytest.raises(Exception) as excinfo:
        await peer.send(Ping(10))
    assert type(excinfo.value).__name__ == "PeerTimeout"
    reason = await asyncio.wait_for(task, 2)
    assert reason.code == "peer_timeout"
    with pytest.raises(Exception) as excinfo:
        await peer.send(Ping(11))
    assert type(excinfo.value).__name__ == "PeerDisconnected"


async def test_announce_skips_what_the_peer_knows() -> None:
    peer, ws, handler, task = await handshaken()
    known_item = InvItem(INV_TX, bytes(32))
    ws.feed(Inv((known_item,)))  # the peer announced it: known
    await wait_until(lambda: len(handler.messages) == 1)
    fresh = InvItem(INV_TX, b"\x01" * 32)
    assert await peer.announce([known_item, fresh, fresh]) == 1
    assert await peer.announce([fresh]) == 0
    await wait_until(lambda: Inv((fresh,)) in ws.sent_messages())
    assert sum(isinstance(m, Inv) for m in ws.sent_messages()) == 1
    await peer.aclose()
    await task


async def test_cancelling_run_closes_with_shutdown() -> None:
    peer, ws, handler, task = await handshaken()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert peer.disconnect_reason is not None and peer.disconnect_reason.code == "shutdown"
    assert ws.close_code == WSCloseCode.GOING_AWAY
    assert [r.code for _, r in handler.disconnected] == ["shutdown"]
