"""``POST /v1/txs/package`` (Core's ``submitpackage``) on a live regtest node: a child pays for
a parent that the node refuses alone, both are mined by the node's template; malformed
packages are 400 and change nothing."""

from __future__ import annotations

from pathlib import Path

from consensus.transaction import OutPoint
from tests.unit.node.test_api_support import ALICE, BOB, CAROL, COIN, live_api, pay


async def test_a_child_pays_for_its_parent_through_the_api(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        await api.generate(101)
        parent = pay(await api.coinbase_at(1), ALICE, BOB, 10 * COIN, fee=0)
        child = pay((OutPoint(parent.txid, 0), parent.outputs[0]), BOB, CAROL, COIN, fee=50_000)
        alone = await api.post_tx(parent)
        assert (alone.status, alone.error_code) == (400, "min_fee_not_met")

        body = {"txs": [parent.encoded.hex(), child.encoded.hex()]}
        reply = await api.post("/v1/txs/package", json=body)
        assert reply.status == 200, reply.text
        result = reply.json()
        assert [(r["txid"], r["accepted"], r["error"]) for r in result["results"]] == [
            (parent.txid_hex, True, None),
            (child.txid_hex, True, None),
        ]
        assert [r["fee"] for r in result["results"]] == [0, 50_000]
        assert result["package_fee_rate"] == round(50_000 / (parent.size + child.size), 3)
        template = await api.get_json("/v1/mining/template")
        assert [t["txid"] for t in template["transactions"]] == [parent.txid_hex, child.txid_hex]

        cheap_parent = pay(await api.coinbase_at(2), ALICE, BOB, 10 * COIN, fee=0)
        cheap_child = pay(
            (OutPoint(cheap_parent.txid, 0), cheap_parent.outputs[0]), BOB, CAROL, COIN, fee=5
        )
        body = {"txs": [cheap_parent.encoded.hex(), cheap_child.encoded.hex()]}
        refused = (await api.post("/v1/txs/package", json=body)).json()
        assert [r["error"]["code"] for r in refused["results"]] == ["package_fee_too_low"] * 2
        assert refused["package_fee_rate"] is None

        for bad, code in (
            ({"txs": [child.encoded.hex()]}, "package_invalid"),
            ({"txs": [child.encoded.hex(), parent.encoded.hex()]}, "package_invalid"),
            ({"txs": ["zz"]}, "bad_hex"),
            ({"txs": []}, "bad_field"),
            ({"txs": "x"}, "bad_field"),
        ):
            reply = await api.post("/v1/txs/package", json=bad)
            assert (reply.status, reply.error_code) == (400, code), (bad, reply.text)
        mempool = await api.get_json("/v1/mempool/txids")
        assert sorted(mempool) == sorted([parent.txid_hex, child.txid_hex])
