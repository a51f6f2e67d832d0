"""Esplora's /tx/{txid}/outspends and /tx/{txid}/outspend/{vout} against a real node: unspent,
spent in the mempool, spent in a block (with the block's status), errors; and the block's
/block/{hash}/txs page."""

from __future__ import annotations

from pathlib import Path

from tests.unit.node.test_api_support import ALICE, BOB, COIN, live_api, pay


async def test_outspends_follow_a_spend_into_a_block(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        hashes = await api.generate(101)
        coinbase = await api.coinbase_at(1)
        funding = coinbase[0].txid[::-1].hex()  # display order
        assert await api.get_json(f"/v1/tx/{funding}/outspends") == [{"spent": False}]

        payment = pay(coinbase, ALICE, BOB, 5 * COIN)
        assert await api.get_json("/v1/mempool/recent") == []
        assert (await api.post_tx(payment)).status == 200
        second = pay(await api.coinbase_at(2), ALICE, BOB, COIN, fee=2000)
        assert (await api.post_tx(second)).status == 200
        # Esplora's /mempool/recent: newest first, with fee, vsize and the outputs' total.
        assert await api.get_json("/v1/mempool/recent") == [
            {"txid": second.txid_hex, "fee": 2000, "vsize": second.size,
             "value": second.total_out()},
            {"txid": payment.txid_hex, "fee": 1000, "vsize": payment.size,
             "value": payment.total_out()},
        ]  # fmt: skip
        pending = await api.get_json(f"/v1/tx/{funding}/outspend/0")
        assert pending == {
            "spent": True, "txid": payment.txid_hex, "vin": 0, "status": {"confirmed": False},
        }  # fmt: skip
        assert await api.get_json(f"/v1/tx/{payment.txid_hex}/outspends") == [
            {"spent": False},
            {"spent": False},
        ]

        [block_hash] = await api.generate(1)
        assert await api.get_json("/v1/mempool/recent") == []  # confirmed: gone
        confirmed = await api.get_json(f"/v1/tx/{funding}/outspend/0")
        assert confirmed["spent"] is True and confirmed["txid"] == payment.txid_hex
        assert confirmed["vin"] == 0
        assert confirmed["status"]["confirmed"] is True
        assert confirmed["status"]["block_hash"] == block_hash
        assert confirmed["status"]["block_height"] == 102
        assert hashes[0] != block_hash

        # Esplora's /block/{hash}/txs shows the block's transactions as /tx/{txid} does.
        page = await api.get_json(f"/v1/block/{block_hash}/txs")
        txids = await api.get_json(f"/v1/block/{block_hash}/txids")
        assert [tx["txid"] for tx in page] == txids and payment.txid_hex in txids
        assert page == [await api.get_json(f"/v1/tx/{txid}") for txid in txids]
        assert page[0]["fee"] == 0 and sorted(t["fee"] for t in page[1:]) == [1000, 2000]
        assert await api.get_json(f"/v1/block/{block_hash}/txs/0") == page
        for path, status, code in (
            (f"/v1/block/{block_hash}/txs/25", 404, "tx_not_found"),
            (f"/v1/block/{block_hash}/txs/3", 400, "bad_start_index"),
            (f"/v1/block/{block_hash}/txs/x", 400, "bad_start_index"),
            (f"/v1/block/{'00' * 32}/txs", 404, "block_not_found"),
        ):
            reply = await api.get(path)
            assert reply.status == status and reply.error_code == code, (path, reply.text)

        for path, status, code in (
            (f"/v1/tx/{funding}/outspend/1", 404, "output_not_found"),
            (f"/v1/tx/{funding}/outspend/x", 400, "bad_vout"),
            (f"/v1/tx/{'00' * 32}/outspends", 404, "tx_not_found"),
            ("/v1/tx/nothex/outspends", 400, "bad_hash"),
        ):
            reply = await api.get(path)
            assert reply.status == status and reply.error_code == code, (path, reply.text)
