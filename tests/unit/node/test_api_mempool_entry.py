"""``GET /v1/mempool/tx/{txid}`` (Core's getmempoolentry) and two of Esplora's path forms:
``GET /v1/tx/{txid}/raw`` and ``GET /v1/blocks/{start_height}``."""

from __future__ import annotations

from pathlib import Path

from consensus.transaction import OutPoint
from tests.unit.node.test_api_support import ALICE, BOB, CAROL, COIN, live_api, pay


async def test_mempool_entry_with_a_parent_and_a_child(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        await api.generate(101)
        parent = pay(await api.coinbase_at(1), ALICE, BOB, 10 * COIN, fee=2000)
        child = pay(
            (OutPoint(parent.txid, 0), parent.outputs[0]), BOB, CAROL, 4 * COIN, fee=5000
        )
        for tx in (parent, child):
            assert (await api.post_tx(tx)).status == 200

        entry = await api.get_json(f"/v1/mempool/tx/{parent.txid_hex}")
        assert entry["txid"] == parent.txid_hex and entry["fee"] == 2000
        assert (entry["vsize"], entry["weight"]) == (parent.size, 4 * parent.size)
        assert entry["fee_rate"] == round(2000 / parent.size, 3)
        assert entry["height"] == 101 and entry["time"] > 0
        assert (entry["ancestor_count"], entry["ancestor_size"]) == (1, parent.size)
        assert entry["descendant_count"] == 2
        assert entry["descendant_size"] == parent.size + child.size
        assert entry["descendant_fees"] == 7000
        assert entry["depends"] == [] and entry["spentby"] == [child.txid_hex]
        assert entry["bip125_replaceable"] is True
        assert entry["unbroadcast"] is True  # no peer has asked for it

        kid = await api.get_json(f"/v1/mempool/tx/{child.txid_hex}")
        assert kid["depends"] == [parent.txid_hex] and kid["spentby"] == []
        assert (kid["ancestor_count"], kid["ancestor_fees"]) == (2, 7000)

        await api.generate(1)
        gone = await api.get(f"/v1/mempool/tx/{parent.txid_hex}")
        assert (gone.status, gone.error_code) == (404, "tx_not_found")
        bad = await api.get("/v1/mempool/tx/zz")
        assert (bad.status, bad.error_code) == (400, "bad_hash")

        raw = await api.get(f"/v1/tx/{parent.txid_hex}/raw")
        assert raw.status == 200 and raw.body == parent.encoded
        missing = await api.get("/v1/tx/" + "00" * 32 + "/raw")
        assert (missing.status, missing.error_code) == (404, "tx_not_found")

        assert await api.get_json("/v1/blocks/5") == await api.get_json(
            "/v1/blocks?start_height=5"
        )
        assert [b["height"] for b in await api.get_json("/v1/blocks/3")] == [3, 2, 1, 0]


async def test_mempool_ancestors_and_descendants(tmp_path: Path) -> None:
    """Core's getmempoolancestors / getmempooldescendants: a chain parent -> child -> grandchild
    plus a second child of the parent; parents first, the transaction itself never listed."""
    async with live_api(tmp_path) as api:
        await api.generate(101)
        parent = pay(await api.coinbase_at(1), ALICE, BOB, 10 * COIN, fee=2000)
        child = pay((OutPoint(parent.txid, 0), parent.outputs[0]), BOB, CAROL, 4 * COIN)
        grandchild = pay((OutPoint(child.txid, 0), child.outputs[0]), CAROL, BOB, 1 * COIN)
        sibling = pay((OutPoint(parent.txid, 1), parent.outputs[1]), ALICE, CAROL, 1 * COIN)
        for tx in (parent, child, grandchild, sibling):
            assert (await api.post_tx(tx)).status == 200

        def path(tx_hex: str, which: str, query: str = "") -> str:
            return f"/v1/mempool/tx/{tx_hex}/{which}{query}"

        assert await api.get_json(path(parent.txid_hex, "ancestors")) == []
        below = await api.get_json(path(parent.txid_hex, "descendants"))
        assert below[-1] == grandchild.txid_hex  # after its own parent
        assert set(below) == {child.txid_hex, grandchild.txid_hex, sibling.txid_hex}
        assert below.index(child.txid_hex) < below.index(grandchild.txid_hex)
        assert await api.get_json(path(grandchild.txid_hex, "ancestors")) == [
            parent.txid_hex,
            child.txid_hex,
        ]
        assert await api.get_json(path(grandchild.txid_hex, "descendants")) == []
        assert await api.get_json(path(sibling.txid_hex, "ancestors", "?verbose=0")) == [
            parent.txid_hex
        ]

        verbose = await api.get_json(path(grandchild.txid_hex, "ancestors", "?verbose=true"))
        assert verbose == [
            await api.get_json(f"/v1/mempool/tx/{parent.txid_hex}"),
            await api.get_json(f"/v1/mempool/tx/{child.txid_hex}"),
        ]
        assert await api.get_json(path(grandchild.txid_hex, "descendants", "?verbose=1")) == []

        bad = await api.get(path(parent.txid_hex, "ancestors", "?verbose=yes"))
        assert (bad.status, bad.error_code) == (400, "bad_verbose")
        missing = await api.get(path("00" * 32, "descendants"))
        assert (missing.status, missing.error_code) == (404, "tx_not_found")
        assert (await api.get(path(parent.txid_hex, "cousins"))).status == 404
