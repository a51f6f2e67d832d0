"""Block propagation: a 1 MiB block across a line of 8 nodes (each its own process) on
loopback. The figure is the latency per hop; the ceiling is that block's validation time alone
(``ChainState.accept_block`` of the same block on the same chain, in this process). Target:
per hop <= 1.25 x validation.

How: the bench builds a chain in memory (funding, then one block of ~5,900 one-input
transactions, just under 1 MiB), gives every node the chain up to the block's parent, and
attaches a scripted peer to each node. Another scripted peer hands the first node the block;
each node announces it (``headers``) to its peers the moment it connected it, so the
scripted peer at node i timestamps when node i had it. Per hop = (t[7] - t[0]) / 7, and the
validation of the same block is timed in this process right after each run.

    python bench/p2p_propagation.py [--nodes 8] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from itertools import pairwise
from pathlib import Path

from common import emit
from p2p_common import add_unverified, fund, spend_each

from consensus.block import HEADER_SIZE, Block
from consensus.params import REGTEST
from node.chain import ChainState
from node.runtime import tune_gc
from p2p.messages import BlockMessage, Headers, Inv
from tests.framework.factory import ChainBuilder, Key
from tests.framework.network import TestNetwork, connect_nodes, sync_blocks
from tests.framework.p2p_interface import P2PInterface

NOW = int(time.time())
TX_SIZE = 180  # one-input, one-output transaction inside a block, rounded up


class Timestamper(P2PInterface):
    """Records when the node first announced each block hash."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[bytes, float] = {}

    def on_headers(self, message: Headers) -> None:
        now = time.perf_counter()
        for header in message.headers:
            self.seen.setdefault(header.hash, now)

    def on_inv(self, message: Inv) -> None:
        now = time.perf_counter()
        for item in message.items:
            self.seen.setdefault(item.hash, now)


def build(runs: int) -> tuple[list[Block], list[Block]]:
    """The shared prefix, and ``runs`` full blocks each on the previous one."""
    chain = ChainBuilder(spacing=1)
    owner = Key.from_index(5)
    per_block = (REGTEST.max_block_size - HEADER_SIZE - 2_000) // TX_SIZE
    coins = fund(chain, per_block * runs, owner)
    prefix_height = chain.height
    for run in range(runs):
        txs = spend_each(coins[run * per_block : (run + 1) * per_block], owner)
        block = chain.make_block(txs, extra_fee=500 * len(txs))
        assert block.size <= REGTEST.max_block_size, block.size
        add_unverified(chain, block)
    return chain.blocks[1 : prefix_height + 1], chain.blocks[prefix_height + 1 :]


class Validator:
    """A chain state in this process holding the same chain: ``time(block)`` is that block's
    validation alone (``accept_block`` of a freshly decoded copy, as a node gets it)."""

    def __init__(self, prefix: list[Block], workdir: Path) -> None:
        self.state = ChainState.open(workdir, REGTEST)
        for block in prefix:
            self.state.accept_block(block, NOW)
        tune_gc()  # as the node does after loading

    def time(self, block: Block) -> float:
        copy = Block.decode(block.encoded, REGTEST.max_block_size)  # no cached hashes
        start = time.perf_counter()
        result = self.state.accept_block(copy, NOW)
        elapsed = time.perf_counter() - start
        assert result.status == "connected"
        return elapsed

    def close(self) -> None:
        self.state.close()


async def propagate(
    prefix: list[Block], blocks: list[Block], n: int, workdir: Path
) -> tuple[list[list[float]], list[float]]:
    """Per run: the hop times of one block across the line, then (right after, so the host
    is in the same state) that block's validation time in this process."""
    net = TestNetwork(workdir / "net")
    validator = Validator(prefix, workdir / "validate")
    try:
        nodes = await net.add_nodes(n, mode="process")
        await asyncio.gather(*(node.submit_blocks(prefix) for node in nodes))
        for a, b in pairwise(nodes):
            await connect_nodes(a, b)
        await sync_blocks(nodes)
        watchers = [await net.add_p2p(node, Timestamper()) for node in nodes]
        sender = await net.add_p2p(nodes[0])  # never told of a block it sent: not a watcher
        hops, validation = [], []
        for block in blocks:
            await sender.send_message(BlockMessage(block))
            # No polling of the nodes while the block travels: the scripted peers listen.
            for w in watchers:
                await w.wait_until(lambda w=w, h=block.hash: h in w.seen, 120)
            await sync_blocks(nodes)
            times = [w.seen[block.hash] for w in watchers]
            hops.append([b - a for a, b in pairwise(times)])
            validation.append(validator.time(block))
        return hops, validation
    finally:
        validator.close()
        await net.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=8)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    prefix, blocks = build(args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        hops, validation = asyncio.run(propagate(prefix, blocks, args.nodes, Path(tmp)))
    per_hop = [statistics.mean(h) for h in hops]
    figure = statistics.median(per_hop)
    ceiling = statistics.median(validation)
    emit(
        {
            "benchmark": "p2p_block_propagation",
            "unit": "s per hop",
            "nodes": args.nodes,
            "block_bytes": blocks[0].size,
            "block_txs": len(blocks[0].transactions),
            "figure": round(figure, 4),
            "ceiling": round(ceiling, 4),
            "ceiling_is": "accept_block of the same block in the bench process",
            "ratio": round(figure / ceiling, 3),
            "target_ratio": 1.25,
            "runs": len(blocks),
            "ratio_each_run": [round(h / v, 3) for h, v in zip(per_hop, validation, strict=True)],
            "per_hop_each_run": [round(x, 4) for x in per_hop],
            "validation_each_run": [round(x, 4) for x in validation],
            "hops_first_run": [round(x, 4) for x in hops[0]],
        }
    )


if __name__ == "__main__":
    main()
