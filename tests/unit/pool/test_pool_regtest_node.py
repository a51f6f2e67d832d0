"""End to end against a real regtest ``node.server.Node``: its own REST API serves the
pool through ``HttpNodeClient``; a real ``StratumMiner`` mines; on regtest every share is a
block, so the pool must handle a stream of blocks and stale shares. Every block the node
accepted from the pool pays what the pool's ledger says, and the pool's view of the chain is
the node's."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import aiohttp
from pool_testkit import ALICE, OPERATOR, pool_config, running_pool, wait_for

from consensus.addresses import address_to_lock
from consensus.params import REGTEST
from node.api import ApiServer, ApiSettings
from node.config import HostPort, NodeConfig
from node.server import Node
from pool.client import StratumMiner
from pool.nodeclient import HttpNodeClient


@contextlib.asynccontextmanager
async def regtest_node(datadir: Path) -> Any:
    config = NodeConfig(
        params=REGTEST,
        datadir=datadir,
        p2p_bind=HostPort("127.0.0.1", 0),
        api_bind=HostPort("127.0.0.1", 0),
        listen=False,
        extra={"api_rate_limit": "0"},
    )
    node = Node(config)
    task = asyncio.create_task(node.run())
    try:
        async with asyncio.timeout(30):
            started = asyncio.create_task(node.started.wait())
            await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
            started.cancel()
            if task.done():
                task.result()
        own = getattr(node, "api", None)  # the node serves its API itself when it runs one
        if own is not None and own.port is not None:
            yield node, own.url
        else:
            async with ApiServer(node, ApiSettings(rate_limit=0)) as server:
                yield node, server.url
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def get(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json() if resp.content_type == "application/json" else await resp.text()


async def test_pool_mines_on_a_real_regtest_node(tmp_path: Path) -> None:
    async with regtest_node(tmp_path / "node") as (node, url):
        config = pool_config(tmp_path / "pool", node_url=url, fee_ppm=10_000, scheme="pplns")
        async with running_pool(config, HttpNodeClient(url)) as pool:
            assert pool.stratum_port is not None
            miner = StratumMiner(
                "127.0.0.1", pool.stratum_port, ALICE.address() + ".e2e", threads=1
            )
            task = asyncio.create_task(miner.run())
            try:
                await wait_for(lambda: node.chain.height >= 4, deadline=60)
                await wait_for(
                    lambda: (
                        pool.jobs.template is not None
                        and pool.jobs.template.height > node.chain.height
                    )
                )
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await pool.blocks.settle()
            api = f"http://127.0.0.1:{pool.api_port}"
            async with aiohttp.ClientSession() as session:
                blocks = (await get(session, f"{api}/v1/pool/blocks?limit=100"))["blocks"]
                live = [b for b in blocks if b["status"] in ("accepted", "confirmed")]
                assert len(live) >= 4
                for row in live:
                    # the node's chain has this block at this height
                    assert (
                        await get(session, f"{url}/v1/block-height/{row['height']}") == row["hash"]
                    )
                    txids = await get(session, f"{url}/v1/block/{row['hash']}/txids")
                    coinbase = await get(session, f"{url}/v1/tx/{txids[0]}")
                    paid = [(o["scriptpubkey"], o["value"]) for o in coinbase["vout"]]
                    expected = [
                        (address_to_lock(c["address"], "rsc").hex(), c["paid"])
                        for c in row["credits"]
                        if c["paid"]
                    ]
                    if row["operator_paid"]:
                        expected.append((OPERATOR.lock.hex(), row["operator_paid"]))
                    assert paid == expected
                    assert sum(v for _, v in paid) == row["reward"]
                # blocks the node did not keep are not counted
                assert all(
                    b["status"] in ("accepted", "confirmed", "orphaned", "rejected") for b in blocks
                )
                info = await get(session, f"{api}/v1/pool/miners/{ALICE.address()}")
                assert info["paid"]["immature"] == sum(
                    c["paid"] for b in live for c in b["credits"] if c["address"] == ALICE.address()
                )
                assert info["paid"]["immature"] > 0
