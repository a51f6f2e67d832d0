"""Serving blocks: a block the node has just connected is served from memory, as Bitcoin Core
serves its most recent block, even while the chain thread is still busy after connecting it
(indexes, the coin flush); older blocks come from the store, in the order asked for."""

from __future__ import annotations

import asyncio
import threading

from consensus.hashing import hex_to_hash
from p2p.messages import INV_BLOCK, BlockMessage, GetData, InvItem
from tests.framework.miniwallet import MiniWallet
from tests.framework.network import TestNetwork
from tests.framework.p2p_interface import P2PInterface


async def test_the_latest_blocks_are_served_while_the_chain_thread_is_busy(
    network: TestNetwork,
) -> None:
    (node,) = await network.add_nodes(1)
    hashes = [hex_to_hash(h) for h in await MiniWallet().generate(node, 8)]
    peer = await network.add_p2p(node, P2PInterface())

    release = threading.Event()
    busy = asyncio.create_task(node.call(release.wait, 30))  # hold the chain thread
    try:
        await peer.send_message(GetData((InvItem(INV_BLOCK, hashes[-1]),)))
        block = await peer.wait_for_block(hashes[-1], timeout=10)
        assert block.hash == hashes[-1] and not busy.done()
    finally:
        release.set()
        await busy

    # Older blocks and the newest together: all served, in the order asked for.
    asked = [hashes[0], hashes[-1], hashes[1]]
    before = len(peer.received("block"))
    await peer.send_message(GetData(tuple(InvItem(INV_BLOCK, h) for h in asked)))
    await peer.wait_until(lambda: len(peer.received("block")) >= before + 3)
    served: list[BlockMessage] = peer.received("block")[before:]
    assert [m.block.hash for m in served] == asked
    assert all(m.block.transactions for m in served)  # whole blocks, as the peer decoded them
