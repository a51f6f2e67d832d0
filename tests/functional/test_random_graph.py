"""Eight nodes in a random connected graph: every block, mined at any node, reaches every
node. The graph is drawn from a seeded generator (the seed is in the test id), so a failure
reproduces."""

from __future__ import annotations

import random

import pytest

from tests.framework.network import TestNetwork, connect_nodes, random_connected_graph, sync_blocks


@pytest.mark.parametrize("seed", [7, 2024])
async def test_every_block_reaches_every_node(network: TestNetwork, seed: int) -> None:
    rng = random.Random(seed)
    nodes = await network.add_nodes(8)
    for a, b in random_connected_graph(len(nodes), extra_edges=3, rng=rng):
        await connect_nodes(nodes[a], nodes[b])

    mined: list[str] = []
    for round_no in range(12):
        miner = nodes[rng.randrange(len(nodes))]
        mined += await miner.generate(rng.choice([1, 1, 2, 5]))
        tip = await sync_blocks(nodes)
        assert tip == mined[-1], f"round {round_no}"

    # Every block mined is on every node's active chain, at the same height.
    heights = {}
    for height in range(1, len(mined) + 1):
        hashes = {await n.block_hash(height) for n in nodes}
        assert len(hashes) == 1
        heights[hashes.pop()] = height
    assert set(mined) <= set(heights)
