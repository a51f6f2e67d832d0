"""Transaction relay: sustained transactions per second submitted at the first node of a line
of three (each its own process) and reaching the third node's mempool, every node verifying
every signature. Target: >= 2,000 tx/s on the 2-core machine.

How: the bench funds N coins in an in-memory chain that every node is given, signs N
independent one-input transactions, then a scripted peer (``P2PInterface``) streams them to
the first node as ``tx`` messages over P2P, as fast as the node takes them (its reader
handles one message at a time, so TCP pushes back). Node 1 relays to node 2 and node 2 to
node 3 with ``inv``/``getdata``/``tx``. The figure is N over the time from the first send to
the moment the third node's mempool holds all N. The ceiling, measured in the same run, is
what the machine's two cores can verify when each transaction is verified three times (once
per node): 2-process Ed25519 verifications per second / 3.

    python bench/p2p_tx_relay.py [--txs 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from itertools import pairwise
from pathlib import Path

from common import emit
from p2p_common import fund, spend_each, two_process_verify_ceiling

from p2p.messages import TxMessage
from tests.framework.factory import ChainBuilder, Key
from tests.framework.network import TestNetwork, connect_nodes, sync_blocks
from tests.framework.testnode import TestNode
from tests.framework.util import wait_until

NODES = 3


async def relay(txs_count: int, workdir: Path) -> dict[str, float]:
    chain = ChainBuilder(spacing=1)
    owner = Key.from_index(6)
    coins = fund(chain, txs_count, owner)
    txs = spend_each(coins, owner)
    net = TestNetwork(workdir)
    try:
        nodes = await net.add_nodes(NODES, mode="process")
        await asyncio.gather(*(n.submit_blocks(chain.blocks[1:]) for n in nodes))
        for a, b in pairwise(nodes):
            await connect_nodes(a, b)
        await sync_blocks(nodes)
        submitter = await net.add_p2p(nodes[0])
        reached: dict[str, float] = {}

        async def watch(node: TestNode) -> None:
            async def all_there() -> bool:
                return await node.mempool_size() >= txs_count

            await wait_until(all_there, 600, interval=0.1, message=f"{node.name} mempool")
            reached[node.name] = time.perf_counter()

        watchers = [asyncio.create_task(watch(n)) for n in nodes]
        start = time.perf_counter()
        for tx in txs:
            await submitter.send_message(TxMessage(tx))
        sent = time.perf_counter()
        await asyncio.gather(*watchers)
        return {
            "sent": sent - start,
            **{name: at - start for name, at in reached.items()},
        }
    finally:
        await net.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--txs", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        times = asyncio.run(relay(args.txs, Path(tmp)))
    ceiling_verify = two_process_verify_ceiling()
    ceiling = ceiling_verify / NODES
    figure = args.txs / times[f"node{NODES - 1}"]
    emit(
        {
            "benchmark": "p2p_tx_relay",
            "unit": "tx/s",
            "nodes": NODES,
            "txs": args.txs,
            "submitted_via": "P2PInterface tx messages to node 1",
            "figure": round(figure),
            "target": 2000,
            "ceiling": round(ceiling),
            "ceiling_is": "2-process Ed25519 verify/s divided by 3 (each tx verified per node)",
            "ratio": round(figure / ceiling, 3),
            "seconds": {k: round(v, 2) for k, v in times.items()},
            "first_node_tx_per_s": round(args.txs / times["node0"]),
        }
    )


if __name__ == "__main__":
    main()
