"""Statistics endpoints: ``/v1/mining/info`` (Core's getmininginfo / getnetworkhashps),
``/v1/chain/utxo-set`` (gettxoutsetinfo) and ``/v1/block/{hash}/stats`` (getblockstats)."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web

from consensus.coinbase import block_subsidy
from consensus.params import REGTEST
from consensus.pow import block_work
from node.api.errors import ApiError
from node.api.routes_stats import UtxoStatsJob, network_hashps
from node.utxostats import open_snapshot, total_issued
from tests.unit.node.test_api_support import ALICE, BOB, CAROL, COIN, live_api, pay

WORK = block_work(REGTEST.pow_limit_bits)


def entry(time: int, blocks: int) -> Any:
    return SimpleNamespace(header=SimpleNamespace(time=time), chainwork=blocks * WORK)


def test_network_hashps_is_work_over_the_span_of_timestamps() -> None:
    assert network_hashps([]) == 0.0
    assert network_hashps([entry(100, 1)]) == 0.0
    assert network_hashps([entry(100, 1), entry(100, 2)]) == 0.0  # no span
    window = [entry(1000, 10), entry(1600, 11), entry(1300, 12), entry(1200, 13)]
    # 3 blocks of work after the first; times run 1000..1600 even though the last is earlier.
    assert network_hashps(window) == 3 * WORK / 600


def test_total_issued_follows_the_halvings() -> None:
    assert total_issued(0, 150) == 0
    assert total_issued(1, 150) == 50 * COIN
    assert total_issued(149, 150) == 149 * 50 * COIN
    assert total_issued(150, 150) == 149 * 50 * COIN + 25 * COIN
    assert total_issued(400, 150) == (149 * 50 + 150 * 25 + 101 * 12.5) * COIN
    # One halving per block: heights 1..63 pay, 64 and above pay nothing.
    assert total_issued(10**9, 1) == sum((50 * COIN) >> h for h in range(1, 64))
    assert total_issued(64 * 150 + 10, 150) == total_issued(64 * 150 - 1, 150)


async def test_mining_info(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        info = await api.get_json("/v1/mining/info")
        assert info["height"] == 0 and info["hashps_blocks"] == 0
        assert info["networkhashps"] == 0.0
        assert info["local"] == {"mining": False, "hashps": 0.0, "threads": 0, "blocks_found": 0}
        await api.generate(5)
        info = await api.get_json("/v1/mining/info?blocks=3")
        assert (info["height"], info["hashps_blocks"], info["network"]) == (5, 3, "regtest")
        assert info["bits"] == REGTEST.pow_limit_bits and info["difficulty"] == 1.0
        assert int(info["target"], 16) == REGTEST.pow_limit
        assert info["next"]["height"] == 6
        assert info["next"]["bits"] == REGTEST.pow_limit_bits  # regtest does not retarget
        assert info["next"]["subsidy"] == block_subsidy(6, REGTEST.halving_interval)
        assert info["mempool"] == {"count": 0, "bytes": 0}
        for bad in ("0", "10001", "x"):
            reply = await api.get("/v1/mining/info?blocks=" + bad)
            assert (reply.status, reply.error_code) == (400, "bad_blocks")


async def test_utxo_set(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        node = api.node
        empty = await api.get_json("/v1/chain/utxo-set")
        assert empty["txouts"] == 0 and empty["total_amount"] == 0 and empty["height"] == 0
        await api.generate(105)
        tx = pay(await api.coinbase_at(1), ALICE, BOB, 10 * COIN, fee=3000)
        assert (await api.post_tx(tx)).status == 200
        [tip] = await api.generate(1, key=CAROL)
        # Two requests at once: one scan, the same answer.
        first, second = await asyncio.gather(
            api.get_json("/v1/chain/utxo-set"), api.get_json("/v1/chain/utxo-set")
        )
        assert first == second
        stats = first
        assert (stats["height"], stats["bestblock"]) == (106, tip)
        # 106 coinbases, one of them spent by tx (2 outputs); the last one claims the fee.
        assert stats["txouts"] == 106 - 1 + 2
        assert stats["transactions"] == 106
        assert stats["total_issued"] == total_issued(106, REGTEST.halving_interval)
        assert stats["total_amount"] == stats["total_issued"]
        assert stats["total_unclaimed"] == 0
        assert stats["hash_serialized"] == (await node.call(node.chain.utxo_hash)).hex()
        assert await node.call(node.chain.store.coin_count) == stats["txouts"]
        assert await api.get_json("/v1/chain/utxo-set") == stats  # kept: the tip has not moved
        await api.generate(1)
        later = await api.get_json("/v1/chain/utxo-set")
        assert later["height"] == 107 and later["txouts"] == stats["txouts"] + 1
        assert later["hash_serialized"] != stats["hash_serialized"]


async def test_a_snapshot_keeps_its_tip_while_the_chain_moves_on(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        node = api.node
        await api.generate(3)
        before = await node.call(node.chain.utxo_hash)
        snapshot = await node.call(open_snapshot, node.chain)
        await api.generate(2)  # written while the snapshot's read transaction is open
        stats = await asyncio.to_thread(snapshot.scan)
        assert (stats.height, stats.txouts, stats.hash_serialized) == (3, 3, before)
        assert await api.height() == 5


async def test_block_stats(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        await api.generate(105)
        cheap = pay(await api.coinbase_at(1), ALICE, BOB, 10 * COIN, fee=1000)
        dear = pay(await api.coinbase_at(2), ALICE, CAROL, 20 * COIN, fee=9000)
        for tx in (cheap, dear):
            assert (await api.post_tx(tx)).status == 200
        [block_hash] = await api.generate(1, key=CAROL)
        stats = await api.get_json(f"/v1/block/{block_hash}/stats")
        subsidy = block_subsidy(106, REGTEST.halving_interval)
        sizes = sorted([cheap.size, dear.size])
        assert stats["blockhash"] == block_hash and stats["height"] == 106
        assert stats["in_best_chain"] is True
        assert (stats["txs"], stats["ins"], stats["outs"]) == (3, 2, 1 + 2 + 2)
        assert stats["utxo_increase"] == 3
        assert stats["total_size"] == sum(sizes)
        assert stats["total_out"] == cheap.total_out() + dear.total_out()
        assert (stats["subsidy"], stats["coinbase_out"]) == (subsidy, subsidy + 10_000)
        assert (stats["totalfee"], stats["minfee"], stats["maxfee"]) == (10_000, 1000, 9000)
        assert (stats["avgfee"], stats["medianfee"]) == (5000, 5000)
        assert stats["minfeerate"] == round(1000 / cheap.size, 3)
        assert stats["maxfeerate"] == round(9000 / dear.size, 3)
        assert stats["avgfeerate"] == round(10_000 / sum(sizes), 3)
        percentiles = stats["feerate_percentiles"]
        assert percentiles == sorted(percentiles) and len(percentiles) == 5
        assert percentiles[0] == stats["minfeerate"] and percentiles[-1] == stats["maxfeerate"]
        assert (stats["mintxsize"], stats["maxtxsize"]) == (sizes[0], sizes[1])
        assert stats["mediantxsize"] == sum(sizes) // 2

        genesis = REGTEST.genesis_hash[::-1].hex()
        quiet = await api.get_json(f"/v1/block/{genesis}/stats")
        assert (quiet["txs"], quiet["totalfee"], quiet["total_size"]) == (1, 0, 0)
        assert quiet["feerate_percentiles"] == [0.0] * 5

        reply = await api.get("/v1/block/" + "00" * 32 + "/stats")
        assert (reply.status, reply.error_code) == (404, "block_not_found")
        reply = await api.get("/v1/block/xyz/stats")
        assert (reply.status, reply.error_code) == (400, "bad_hash")


async def test_node_info(tmp_path: Path) -> None:
    async with live_api(tmp_path, listen=True) as api:
        info = await api.get_json("/v1/node")
        assert info["network"] == "regtest" and info["version"] == "0.1.0"
        assert info["user_agent"] == "/seedchain:0.1.0/" and info["protocol_version"] >= 1
        assert info["uptime"] >= 0 and info["started_at"] is not None
        p2p = info["p2p"]
        assert p2p["enabled"] and p2p["listening"] and isinstance(p2p["port"], int)
        assert p2p["connections"] == {"in": 0, "out": 0, "total": 0}
        assert (p2p["max_inbound"], p2p["max_outbound"], p2p["whitelist"]) == (64, 8, [])
        assert p2p["totals"] == {"in": 0, "out": 0}
        assert info["relay_fee_rate"] == 1 and info["mempool_max_bytes"] > 0
        assert info["pow_backend"].startswith(("native", "hashlib"))
        api.node.metrics.p2p_message("in", "ping", 40)
        api.node.metrics.p2p_message("out", "nonsense", 7)  # counted as "other"
        totals = (await api.get_json("/v1/node"))["p2p"]["totals"]
        assert totals == {"in": 40, "out": 7}


async def test_scan_the_utxo_set_for_addresses(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        await api.generate(101)
        tx = pay(await api.coinbase_at(1), ALICE, BOB, 7 * COIN, fee=1000)
        assert (await api.post_tx(tx)).status == 200
        await api.generate(1, CAROL)
        body = {"addresses": [BOB.address(), CAROL.address()]}
        assert (await api.post("/v1/chain/scan", json=body)).status == 401
        reply = await api.post("/v1/chain/scan", json=body, headers=api.admin)
        assert reply.status == 200, reply.text
        found = reply.json()
        assert found["height"] == 102
        assert found["bestblock"] == (await api.get("/v1/blocks/tip/hash")).text
        bob = [u for u in found["unspents"] if u["address"] == BOB.address()]
        carol = [u for u in found["unspents"] if u["address"] == CAROL.address()]
        assert [(u["txid"], u["value"], u["coinbase"]) for u in bob] == [
            (tx.txid_hex, 7 * COIN, False)
        ]
        assert len(carol) == 1 and carol[0]["coinbase"] and carol[0]["height"] == 102
        assert found["total_amount"] == 7 * COIN + carol[0]["value"]
        # the same as the address index says of confirmed outputs
        utxo = await api.get_json(f"/v1/address/{BOB.address()}/utxo")
        assert [(u["txid"], u["vout"]) for u in utxo] == [(u["txid"], u["vout"]) for u in bob]
        for bad, code in (
            ({"addresses": []}, "bad_field"),
            ({"addresses": [BOB.address()] * 101}, "bad_field"),
            ({"addresses": ["rsc1bad"]}, "malformed_address"),
            ({"addresses": "x"}, "bad_field"),
            ({}, "missing_field"),
        ):
            reply = await api.post("/v1/chain/scan", json=bad, headers=api.admin)
            assert (reply.status, reply.error_code) == (400, code), (bad, reply.text)


async def test_one_scan_at_a_time() -> None:
    job = UtxoStatsJob()
    running: Future[Any] = Future()
    job._finding = running
    try:
        with pytest.raises(ApiError) as info:
            await job.find(SimpleNamespace(), frozenset())  # type: ignore[arg-type]
        assert (info.value.status, info.value.code) == (409, "scan_in_progress")
    finally:
        await job.on_cleanup(web.Application())
