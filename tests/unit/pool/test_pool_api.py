"""The pool API: shapes, paging, the error format, metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from pool_testkit import (
    ALICE,
    FakeChain,
    FakeNodeClient,
    ScriptedMiner,
    bits_for_work,
    pool_config,
    running_pool,
)

from consensus.params import TEST


async def fetch(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, await resp.text()


async def test_pool_api(tmp_path: Path) -> None:
    chain = FakeChain(bits_for_work(2**40))
    async with running_pool(pool_config(tmp_path), FakeNodeClient(chain)) as pool:
        assert pool.stratum_port is not None
        api = f"http://127.0.0.1:{pool.api_port}"
        m = await ScriptedMiner.connect(pool.stratum_port)
        await m.subscribe()
        await m.authorize(ALICE.address() + ".w1")
        job = await m.next_job()
        for i in range(5):
            assert (await m.submit(ALICE.address() + ".w1", job, m.find(job, bytes([i]) * 4)))[
                "result"
            ]

        status, info = await fetch(f"{api}/v1/pool")
        assert status == 200
        assert info["network"] == "regtest" and info["scheme"] == "pplns"
        assert info["miners"] == 1 and info["workers"] == 1 and info["connections"] == 1
        assert info["hashrate"] > 0 and info["round"]["last_share_id"] == 5
        assert info["height"] == 1 and info["next_payout"] and info["last_blocks"] == []

        status, miner = await fetch(f"{api}/v1/pool/miners/{ALICE.address()}")
        assert status == 200 and miner["shares_total"] == 5
        assert list(miner["workers"]) == ["w1"] and miner["workers"]["w1"]["shares"] == 5
        assert miner["paid"] == {"confirmed": 0, "immature": 0, "orphaned": 0}

        status, page = await fetch(f"{api}/v1/pool/shares?limit=2")
        assert status == 200 and [s["id"] for s in page["shares"]] == [1, 2]
        status, page = await fetch(f"{api}/v1/pool/shares?limit=2&after={page['next_after']}")
        assert [s["id"] for s in page["shares"]] == [3, 4]
        status, page = await fetch(f"{api}/v1/pool/shares?address={ALICE.address()}&after=4")
        assert [s["id"] for s in page["shares"]] == [5] and page["next_after"] is None

        for path, code, expected in [
            (f"/v1/pool/miners/{ALICE.address(TEST)}", 400, "wrong_network_address"),
            ("/v1/pool/miners/nonsense", 400, None),
            ("/v1/pool/shares?limit=0", 400, "bad_limit"),
            ("/v1/pool/shares?after=x", 400, "bad_after"),
            ("/v1/pool/nothing", 404, "not_found"),
        ]:
            status, body = await fetch(api + path)
            assert status == code, (path, body)
            assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
            assert expected is None or body["error"]["code"] == expected

        status, text = await fetch(f"{api}/metrics")
        assert status == 200 and "seedchain_pool_shares_accepted_total 5.0" in text
        assert "seedchain_pool_connections 1.0" in text
        await m.close()
