"""Hostile scripted peers: each misbehaviour gets the peer disconnected (and its address
discouraged where the fault is provable), while the node keeps serving its honest peers.

Each case connects from its own loopback address (127.0.0.x): the node discourages by IP, and
the honest node and peers connect from 127.0.0.1, which must never be discouraged.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import msgpack
import pytest

from consensus.assemble import assemble_block, solve_block
from consensus.coinbase import block_subsidy
from consensus.transaction import TxOut
from p2p.codec import MAX_FRAME
from p2p.messages import BlockMessage, Ping, TxMessage
from tests.framework.factory import Key
from tests.framework.miniwallet import MiniWallet
from tests.framework.network import TestNetwork, connect_nodes, sync_blocks
from tests.framework.p2p_interface import P2PInterface
from tests.framework.testnode import TestNode


@dataclass
class Setup:
    network: TestNetwork
    target: TestNode  # the node under attack
    honest: TestNode  # connected to it throughout
    wallet: MiniWallet


Act = Callable[[Setup, P2PInterface], Awaitable[None]]


async def invalid_block(s: Setup, peer: P2PInterface) -> None:
    """A block with valid proof of work whose coinbase pays more than the subsidy."""
    height, tip = await s.target.best_block()
    parent = await s.target.get_block(tip)
    assert parent is not None
    overpay = block_subsidy(height + 1, s.target.params.halving_interval) + 1
    block = assemble_block(
        parent.hash, height + 1, max(int(time.time()), parent.header.time + 1),
        parent.header.bits, (), [TxOut(overpay, Key.from_index(99).lock)],
    )
    solved = solve_block(block)
    assert solved is not None
    await peer.send_message(BlockMessage(solved))


async def invalid_transaction(s: Setup, peer: P2PInterface) -> None:
    """A transaction spending a real, mature coin with a broken signature."""
    tx = s.wallet.create_bad_signature(await s.target.height())
    await peer.send_message(TxMessage(tx))


async def oversized_frame(s: Setup, peer: P2PInterface) -> None:
    # The node refuses the frame from its header and closes at once, so our write of the
    # payload may fail half way: that is the expected outcome, not an error of the test.
    with contextlib.suppress(ConnectionError, aiohttp.ClientError):
        await peer.send_raw_frame(bytes(MAX_FRAME + 1))


async def malformed_msgpack(s: Setup, peer: P2PInterface) -> None:
    await peer.send_raw_frame(b"\xc1\x92")  # 0xc1 is never valid msgpack


async def unknown_command(s: Setup, peer: P2PInterface) -> None:
    await peer.send_raw_frame(msgpack.packb(["bogus", []]))


async def unrequested_block_flood(s: Setup, peer: P2PInterface) -> None:
    """Valid blocks nobody asked for, over and over."""
    tip = await s.target.get_block(await s.target.tip())
    assert tip is not None
    for _ in range(50):
        if not peer.is_connected:
            break
        await peer.send_message(BlockMessage(tip))


async def nothing(s: Setup, peer: P2PInterface) -> None:
    """Connected, never finishing the handshake (the variant decides how far it got)."""


@dataclass(frozen=True)
class Case:
    act: Act
    reason: str | None  # the close message (DisconnectReason code), if it can arrive
    discouraged: bool
    connect: dict[str, bool]


HANDSHAKE_DONE = {"send_version": True, "send_verack": True}
CASES = {
    "invalid_block": Case(invalid_block, "misbehaving", True, HANDSHAKE_DONE),
    "invalid_transaction": Case(invalid_transaction, "misbehaving", True, HANDSHAKE_DONE),
    # The connection is reset under our unfinished write: the close frame may not reach us.
    "oversized_frame": Case(oversized_frame, None, True, HANDSHAKE_DONE),
    "malformed_msgpack": Case(malformed_msgpack, "malformed_message", True, HANDSHAKE_DONE),
    "unknown_command": Case(unknown_command, "unknown_command", True, HANDSHAKE_DONE),
    "unrequested_block_flood": Case(unrequested_block_flood, "misbehaving", True, HANDSHAKE_DONE),
    "silent_after_connect": Case(nothing, "handshake_timeout", False, {"send_version": False}),
    "version_but_no_verack": Case(
        nothing, "handshake_timeout", False, {"send_version": True, "send_verack": False}
    ),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_hostile_peer_is_dropped_and_the_node_keeps_serving(
    network: TestNetwork, name: str
) -> None:
    case = CASES[name]
    target, honest = await network.add_nodes(2)
    await connect_nodes(honest, target)
    wallet = MiniWallet()
    await wallet.generate(target, 101)
    await sync_blocks([target, honest])
    setup = Setup(network, target, honest, wallet)

    # An honest scripted peer on 127.0.0.1 and the hostile one on an address of its own.
    bystander = await network.add_p2p(target)
    host = f"127.0.0.{10 + list(CASES).index(name)}"
    hostile = P2PInterface(local_host=host)
    network.p2p_peers.append(hostile)
    await hostile.connect(target.p2p_address, **case.connect)

    await case.act(setup, hostile)
    await hostile.wait_for_disconnect(timeout=15)
    if case.reason is not None:
        assert hostile.close_reason == case.reason
    assert await target.is_discouraged(f"{host}:1") is case.discouraged
    if case.discouraged:  # refused at the door from now on (HTTP 403 before the upgrade)
        with pytest.raises(Exception, match="403"):
            await P2PInterface(local_host=host).connect(target.p2p_address, timeout=5)

    # The node still serves everyone else: the honest node and the bystander are connected,
    # a block mined at the target reaches the honest node, a new node syncs from scratch.
    assert not await target.is_discouraged("127.0.0.1:1")
    await bystander.send_and_ping(Ping(1))
    (block_hash,) = await target.generate(1)
    await sync_blocks([target, honest])
    newcomer = await network.add_node()
    await connect_nodes(newcomer, target)
    assert await sync_blocks([target, honest, newcomer]) == block_hash
    assert bystander.is_connected
