"""Two hundred peers connect and drop (cleanly, by a TCP reset, or half way through the
handshake) while the node mines and relays; afterwards it holds no trace of them and still
syncs a new node and relays transactions."""

from __future__ import annotations

import asyncio

from tests.framework.miniwallet import MiniWallet
from tests.framework.network import TestNetwork, connect_nodes, sync_blocks, sync_mempools
from tests.framework.p2p_interface import P2PInterface
from tests.framework.util import wait_until

PEERS = 200
WAVE = 40  # at once; the node takes 64 inbound peers


async def churn(address: str, i: int) -> None:
    peer = P2PInterface(local_host=f"127.0.{1 + i // 250}.{1 + i % 250}")
    style = i % 4
    try:
        if style == 3:  # version sent, then gone before verack
            await peer.connect(address, send_verack=False)
            await peer.abort()
            return
        await peer.connect(address)
        await peer.sync_with_ping()
        if style == 0:
            await peer.close()
        elif style == 1:
            await peer.abort()
        else:  # stays until the node has announced something to it, then closes
            await peer.wait_until(lambda: bool(peer.message_count["headers"]), timeout=30)
            await peer.close()
    finally:
        await peer.close()


async def test_two_hundred_peers_connect_and_drop(network: TestNetwork) -> None:
    target, honest = await network.add_nodes(2)
    await connect_nodes(honest, target)
    wallet = MiniWallet()
    await wallet.generate(target, 101)
    await sync_blocks([target, honest])

    stop_mining = asyncio.Event()

    async def keep_mining() -> None:  # announcements go out to peers while they come and go
        while not stop_mining.is_set():
            await target.generate(1)
            await asyncio.sleep(0.05)

    miner = asyncio.create_task(keep_mining())
    try:
        for start in range(0, PEERS, WAVE):
            await asyncio.gather(
                *(churn(target.p2p_address, i) for i in range(start, start + WAVE))
            )
            assert not miner.done(), "the node's mining loop failed"
    finally:
        stop_mining.set()
        await miner

    # Nothing left of them: only the honest node is connected, in the connection manager and
    # in the sync state (no leaked PeerSync, in-flight block or inbound slot).
    async def only_honest_left() -> bool:
        return await target.peer_count() == 1 and (await target.sync_state())["sync_peers"] == 1

    await wait_until(only_honest_left, 20, message="churned peers forgotten")
    assert target.node is not None and target.node.connmgr is not None
    assert target.node.connmgr.inbound_count == 1
    assert (await target.sync_state())["in_flight"] == 0

    # It still syncs: the honest node follows, and a new node catches up from scratch.
    tip = await sync_blocks([target, honest])
    newcomer = await network.add_node()
    await connect_nodes(newcomer, target)
    assert await sync_blocks([target, honest, newcomer]) == tip
    # And relays: a transaction sent to the honest node reaches both others.
    tx = wallet.create_self_transfer(await honest.height())
    await honest.send_tx(tx)
    assert tx.txid_hex in await sync_mempools([target, honest, newcomer])
