"""Node operations through the API (admin): ``POST /v1/mempool/save`` (Core's savemempool)
and ``POST /v1/stop`` (Core's stop)."""

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
