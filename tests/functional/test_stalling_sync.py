"""A new node syncs 2,000 blocks from three peers while one of them stalls on purpose.

The staller is a scripted peer that holds the same chain: it answers ``getheaders`` (so the
new node learns the chain from it first and asks it for blocks) but never answers ``getdata``
for blocks. With the stall timeout shortened to 2 s the new node must drop it, ask the two
honest nodes for its blocks, and end at the same tip.
"""

from __future__ import annotations

import time

from consensus.block import Block
from tests.framework.factory import ChainBuilder
from tests.framework.network import TestNetwork, connect_nodes, sync_blocks
from tests.framework.p2p_interface import ChainServingPeer

BLOCKS = 2_000
STALL_TIMEOUT = 2.0


def build_chain(length: int) -> list[Block]:
    chain = ChainBuilder(spacing=1)
    chain.mine(length)
    return chain.blocks


async def test_sync_2000_blocks_around_a_staller(network: TestNetwork) -> None:
    blocks = build_chain(BLOCKS)
    tip = blocks[-1].hash_hex
    honest = await network.add_nodes(2)
    for node in honest:
        assert await node.submit_blocks(blocks[1:]) == BLOCKS
    fresh = await network.add_node(stall_timeout=STALL_TIMEOUT)

    # The staller connects first, so the fresh node learns the headers from it and asks it
    # for the first window of blocks.
    staller = await network.add_p2p(fresh, ChainServingPeer(blocks, serve_blocks=False))
    await staller.wait_for_getdata(timeout=20)
    assert staller.block_requests
    started = time.monotonic()
    for node in honest:
        await connect_nodes(fresh, node)

    assert await sync_blocks([*honest, fresh], timeout=120) == tip
    assert await fresh.utxo_hash() == await honest[0].utxo_hash()

    # The staller was dropped for stalling (not punished: a slow peer is not provably bad).
    await staller.wait_for_disconnect(timeout=10)
    assert staller.close_reason == "stalling"
    assert not await fresh.is_discouraged("127.0.0.1:1")
    # Its blocks came from the others: none was left waiting after the staller went.
    state = await fresh.sync_state()
    assert state["in_flight"] == 0 and state["sync_peers"] == 2
    assert time.monotonic() - started < 100
