"""Node operations through the API (admin): ``POST /v1/mempool/save`` (Core's savemempool),
``POST /v1/mempool/prioritise`` and ``GET /v1/mempool/prioritised`` (prioritisetransaction,
getprioritisedtransactions) and ``POST /v1/stop`` (Core's stop)."""

from __future__ import annotations

from pathlib import Path

from node.persist import MEMPOOL_FILE, decode_mempool
from tests.framework.util import wait_until
from tests.unit.node.test_api_support import ALICE, BOB, COIN, live_api, pay


async def test_save_mempool_then_stop(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        await api.generate(101)
        tx = pay(await api.coinbase_at(1), ALICE, BOB, COIN)
        assert (await api.post_tx(tx)).status == 200
        await wait_until(lambda: api.node.keeper.loaded)

        assert (await api.post("/v1/mempool/save")).status == 401
        reply = await api.post("/v1/mempool/save", headers=api.admin)
        assert reply.status == 200, reply.text
        assert reply.json() == {"path": str(tmp_path / MEMPOOL_FILE), "transactions": 1}
        saved = decode_mempool((tmp_path / MEMPOOL_FILE).read_bytes(), "regtest")
        assert [saved_tx.txid for saved_tx, _entered in saved.txs] == [tx.txid]
        assert saved.unbroadcast == [tx.txid]  # no peer has asked for it

        api.node.keeper.loaded = False  # as while the saved mempool is offered again
        reply = await api.post("/v1/mempool/save", headers=api.admin)
        assert (reply.status, reply.error_code) == (409, "mempool_not_loaded")
        assert reply.headers["Retry-After"] == "1"
        api.node.keeper.loaded = True

        assert (await api.post("/v1/stop")).status == 401
        reply = await api.post("/v1/stop", headers=api.admin)
        assert (reply.status, reply.json()) == (200, {"stopping": True})
        task = api.node._run_task
        assert task is not None
        await wait_until(task.done, 20)  # stopped as SIGTERM stops it: cleanly
        assert task.cancelled()
        assert not (tmp_path / "api.cookie").exists()  # the API closed and removed its cookie


async def test_prioritise_a_transaction_through_the_api(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        await api.generate(101)
        cheap = pay(await api.coinbase_at(1), ALICE, BOB, COIN, fee=300)
        rich = pay(await api.coinbase_at(2), ALICE, BOB, COIN, fee=9000)
        for tx in (cheap, rich):
            assert (await api.post_tx(tx)).status == 200
        body = {"txid": cheap.txid_hex, "fee_delta": 100_000}
        assert (await api.post("/v1/mempool/prioritise", json=body)).status == 401
        assert (await api.get("/v1/mempool/prioritised")).status == 401
        for bad, code in (
            ({"txid": "zz", "fee_delta": 1}, "bad_hash"),
            ({"txid": cheap.txid_hex}, "missing_field"),
            ({"txid": cheap.txid_hex, "fee_delta": "1"}, "bad_field"),
            ({"txid": cheap.txid_hex, "fee_delta": 10**20}, "bad_field"),
        ):
            reply = await api.post("/v1/mempool/prioritise", json=bad, headers=api.admin)
            assert (reply.status, reply.error_code) == (400, code), bad
        reply = await api.post("/v1/mempool/prioritise", json=body, headers=api.admin)
        assert reply.status == 200, reply.text
        assert reply.json() == {"txid": cheap.txid_hex, "fee_delta": 100_000, "in_mempool": True}
        later = {"txid": "ab" * 32, "fee_delta": -5}
        assert (await api.post("/v1/mempool/prioritise", json=later, headers=api.admin)).json()[
            "in_mempool"
        ] is False

        entry = await api.get_json(f"/v1/mempool/tx/{cheap.txid_hex}")
        assert (entry["fee"], entry["modified_fee"]) == (300, 100_300)
        listed = (await api.get("/v1/mempool/prioritised", headers=api.admin)).json()
        expected = [
            {"txid": cheap.txid_hex, "fee_delta": 100_000, "in_mempool": True,
             "modified_fee": 100_300},
            {"txid": "ab" * 32, "fee_delta": -5, "in_mempool": False, "modified_fee": None},
        ]  # fmt: skip
        expected.sort(key=lambda item: bytes.fromhex(str(item["txid"]))[::-1])
        assert listed["transactions"] == expected
        template = await api.get_json("/v1/mining/template")
        assert [t["txid"] for t in template["transactions"]] == [cheap.txid_hex, rich.txid_hex]
        assert template["fees"] == 9300  # the coinbase may claim real fees only



async def test_templates_follow_the_block_policy(tmp_path: Path) -> None:
    async with live_api(tmp_path, block_min_fee_rate=5) as api:
        await api.generate(102)
        cheap = pay(await api.coinbase_at(1), ALICE, BOB, COIN, fee=300)
        rich = pay(await api.coinbase_at(2), ALICE, BOB, COIN, fee=9000)
        for tx in (cheap, rich):
            assert (await api.post_tx(tx)).status == 200
        template = await api.get_json("/v1/mining/template")
        assert [t["txid"] for t in template["transactions"]] == [rich.txid_hex]
        # a delta lifts the cheap one over the floor (selection counts modified fees)
        body = {"txid": cheap.txid_hex, "fee_delta": 5 * cheap.size}
        reply = await api.post("/v1/mempool/prioritise", json=body, headers=api.admin)
        assert reply.status == 200
        template = await api.get_json("/v1/mining/template")
        assert {t["txid"] for t in template["transactions"]} == {cheap.txid_hex, rich.txid_hex}
