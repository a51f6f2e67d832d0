"""Memory: 20 idle nodes at the same tip, each its own process; resident memory of each.
Target: under 100 MB each.

Node 0 runs under the test framework (``mode="process"``: it mines the chain, 500 blocks
with transactions in them by default); the 19 others are the plain ``seedchain node`` daemon
(``mode="cli"``), each with ``--peer`` node 0, and sync from it. A scripted peer checks each
daemon's tip (its ``version`` height, then a ``getheaders`` answer), and after the nodes have
idled for a while the bench reads ``VmRSS`` of every process from /proc. The ceiling is the
100 MB budget; the ratio is the largest node's RSS over it (<= 1 meets the target).

    python bench/p2p_memory.py [--nodes 20] [--blocks 500] [--idle 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

from common import emit
from p2p_common import rss_mb

from consensus.hashing import hex_to_hash
from p2p.messages import GetHeaders
from tests.framework.miniwallet import MiniWallet
from tests.framework.network import TestNetwork
from tests.framework.p2p_interface import P2PInterface
from tests.framework.testnode import TestNode
from tests.framework.util import wait_until

BUDGET_MB = 100.0


async def at_tip(node: TestNode, height: int, tip: str, previous: str) -> bool:
    """Whether ``node`` (any mode) is at ``tip``, asked over P2P by a scripted peer."""
    peer = P2PInterface()
    try:
        await peer.connect(node.p2p_address, timeout=5)
        assert peer.remote_version is not None
        if peer.remote_version.best_height != height:
            return False
        await peer.send_message(GetHeaders((hex_to_hash(previous),), bytes(32)))
        headers = await peer.wait_for_headers(timeout=5)
        return [h.hash_hex for h in headers.headers] == [tip]
    finally:
        await peer.close()


async def measure(nodes_count: int, blocks: int, idle: float, workdir: Path) -> list[float]:
    net = TestNetwork(workdir)
    try:
        hub = await net.add_node(mode="process")
        wallet = MiniWallet()
        await wallet.generate(hub, 101)
        for _ in range(max(0, blocks - 101) // 10):  # ten blocks at a time, a few txs in each
            height = await hub.height()
            for _ in range(3):
                if wallet.spendable(height):
                    await hub.send_tx(wallet.create_self_transfer(height))
            await hub.generate(10)
        height, tip = await hub.best_block()
        previous = await hub.block_hash(height - 1)
        assert previous is not None
        daemons = await net.add_nodes(nodes_count - 1, mode="cli", peers=[hub.p2p_address])
        for daemon in daemons:
            await wait_until(
                lambda d=daemon: at_tip(d, height, tip, previous),
                180,
                interval=0.5,
                message=f"{daemon.name} at the tip",
            )
        await asyncio.sleep(idle)  # idle on purpose: memory after the nodes settle
        return [rss_mb(n.pid) for n in [hub, *daemons]]
    finally:
        await net.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--blocks", type=int, default=500)
    parser.add_argument("--idle", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rss = asyncio.run(measure(args.nodes, args.blocks, args.idle, Path(tmp)))
    emit(
        {
            "benchmark": "p2p_memory_idle_nodes",
            "unit": "MB RSS per node",
            "nodes": len(rss),
            "figure": round(max(rss), 1),
            "mean": round(statistics.mean(rss), 1),
            "min": round(min(rss), 1),
            "hub_mb": round(rss[0], 1),
            "ceiling": BUDGET_MB,
            "ceiling_is": "the 100 MB budget per node",
            "ratio": round(max(rss) / BUDGET_MB, 3),
            "each_mb": [round(x, 1) for x in rss],
        }
    )


if __name__ == "__main__":
    main()
