"""Initial sync: a fresh node (its own process) syncs 10,000 blocks holding 200,000 one-input
transactions from 2 peers (each its own process), in transactions per second, against the
2-core Ed25519 verification ceiling measured in the same run (two processes verifying at
once). Target: ratio >= 0.5.

The chain (about a minute to make: 200,000 signatures) is cached in
``$TMPDIR/seedchain-bench/``, and so is a peer's data directory once it has validated the
chain (another half minute per peer), keyed by the chain's tip. Delete the directory to
rebuild.

    python bench/p2p_initial_sync.py [--blocks 10000] [--txs-per-block 20]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from common import ed25519_verify_ceiling, emit
from p2p_common import CACHE, add_unverified, fund, load_blocks, save_blocks, spend_each

from consensus.block import Block
from seedchain.cmd_node import DEFAULT_VERIFY_PROCESSES
from tests.framework.factory import ChainBuilder, Key
from tests.framework.network import TestNetwork, connect_nodes
from tests.framework.util import wait_until

INDEX_FILES = tuple(
    f"{db}.sqlite{suffix}" for db in ("chain", "index") for suffix in ("", "-wal", "-shm")
)


def build_chain(blocks: int, per_block: int) -> list[Block]:
    path = CACHE / f"initial_sync_{blocks}x{per_block}.msgpack"
    if path.exists():
        return load_blocks(path)
    chain = ChainBuilder(spacing=1)
    owner = Key.from_index(8)
    coins = fund(chain, blocks * per_block, owner)
    for b in range(blocks):
        txs = spend_each(coins[b * per_block : (b + 1) * per_block], owner)
        add_unverified(chain, chain.make_block(txs, extra_fee=500 * len(txs)))
    save_blocks(path, chain.blocks)
    return chain.blocks


async def prepare_peer_datadir(blocks: list[Block], workdir: Path) -> Path:
    """A data directory holding the whole chain, validated by a node (cached)."""
    cached = CACHE / f"peer_datadir_{blocks[-1].hash_hex[:16]}"
    if (cached / "chain.sqlite").exists() and (cached / "index.sqlite").exists():
        return cached
    net = TestNetwork(workdir / "prepare")
    try:
        (node,) = await net.add_nodes(1, mode="process")
        started = time.perf_counter()
        await node.submit_blocks(blocks[1:], batch=200)
        print(f"peer loaded the chain in {time.perf_counter() - started:.1f}s", flush=True)
    finally:
        await net.aclose()
    tmp = cached.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    # The address index too: peers that had to build it at start would be busy serving.
    for name in INDEX_FILES:
        source = net.nodes[0].datadir / name
        if source.exists():
            shutil.copy2(source, tmp / name)
    tmp.replace(cached)
    return cached


async def sync(blocks: list[Block], workdir: Path, verify_processes: int) -> dict[str, float]:
    source = await prepare_peer_datadir(blocks, workdir)
    net = TestNetwork(workdir / "net")
    try:
        for i in range(2):
            datadir = workdir / "net" / f"node{i}"
            shutil.copytree(source, datadir)
        peers = await net.add_nodes(2, mode="process")
        height = len(blocks) - 1
        for peer in peers:
            assert await peer.height() == height
        fresh = await net.add_node(mode="process", verify_processes=verify_processes)
        started = time.perf_counter()
        for peer in peers:
            await connect_nodes(fresh, peer)

        async def synced() -> bool:
            return await fresh.height() >= height

        await wait_until(synced, 1800, interval=0.25, message="fresh node synced")
        elapsed = time.perf_counter() - started
        assert await fresh.tip() == blocks[-1].hash_hex
        return {"seconds": elapsed}
    finally:
        await net.aclose()


def two_process_ceiling() -> float:
    from p2p_common import two_process_verify_ceiling

    return two_process_verify_ceiling()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blocks", type=int, default=10_000)
    parser.add_argument("--txs-per-block", type=int, default=20)
    parser.add_argument(
        "--verify-processes",
        type=int,
        default=DEFAULT_VERIFY_PROCESSES,
        help="the fresh node's signature workers (default: the node's own default)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    blocks = build_chain(args.blocks, args.txs_per_block)
    print(
        f"chain of {len(blocks) - 1} blocks ready in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    txs = args.blocks * args.txs_per_block
    workdir = Path(tempfile.mkdtemp(prefix="seedchain-sync-"))
    try:
        result = asyncio.run(sync(blocks, workdir, args.verify_processes))
    except BaseException:
        print(f"failed: the nodes' logs are kept in {workdir}", flush=True)
        raise
    shutil.rmtree(workdir, ignore_errors=True)
    ceiling = two_process_ceiling()
    one_core = ed25519_verify_ceiling()
    figure = txs / result["seconds"]
    emit(
        {
            "benchmark": "p2p_initial_sync",
            "unit": "tx/s",
            "blocks": len(blocks) - 1,
            "txs": txs,
            "peers": 2,
            "verify_processes": args.verify_processes,
            "seconds": round(result["seconds"], 2),
            "figure": round(figure),
            "ceiling": round(ceiling),
            "ceiling_is": "Ed25519 verify/s of 2 processes at once (2-core ceiling, measured)",
            "one_core_ceiling_x2": round(2 * one_core),
            "ratio": round(figure / ceiling, 3),
            "target_ratio": 0.5,
        }
    )


if __name__ == "__main__":
    main()
