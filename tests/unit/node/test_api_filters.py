"""``GET /v1/block/{hash}/filter`` (Core's getblockfilter) and ``/filter-headers`` (Core's REST
blockfilterheaders) on a live node: a payment's locks are in its block's filter, the headers
chain, a reorg replaces the filters of the blocks it undoes, and bad requests are refused; and
``GET /v1/indexes`` (Core's getindexinfo); admin ``POST /v1/chain/scan-blocks`` (Core's
scanblocks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consensus.hashing import hex_to_hash, sha256d
from node.api.routes_filters import SCAN_LOCK
from node.blockfilter import GENESIS_PREV_HEADER, match_any
from tests.framework.factory import Key
from tests.unit.node.test_api_support import ALICE, BOB, CAROL, COIN, live_api, pay

NOBODY = Key.from_index(77)


async def test_block_filters_through_the_api(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        await api.generate(101)
        payment = pay(await api.coinbase_at(1), ALICE, BOB, 10 * COIN)
        assert (await api.post_tx(payment)).status == 200
        (paid_in,) = await api.generate(1, key=CAROL)

        indexes = await api.get_json("/v1/indexes")
        assert set(indexes) == {"address", "transaction", "spending", "block_filter"}
        for state in indexes.values():  # Core's getindexinfo
            assert state == {
                "synced": True,
                "best_block_height": 102,
                "best_block_hash": paid_in,
                "waiting_for_sync": False,
            }

        got = await api.get_json(f"/v1/block/{paid_in}/filter")
        assert got["block_hash"] == paid_in and got["height"] == 102
        data, key = bytes.fromhex(got["filter"]), hex_to_hash(paid_in)
        for lock in (ALICE.lock, BOB.lock, CAROL.lock):  # spent, paid, the coinbase's
            assert match_any(data, key, [lock])

        genesis = (await api.get("/v1/block-height/0")).text
        headers = await api.get_json(f"/v1/block/{genesis}/filter-headers?count=2000")
        assert [h["height"] for h in headers] == list(range(103))
        previous = GENESIS_PREV_HEADER
        for item in headers[:3] + headers[-1:]:
            one = await api.get_json(f"/v1/block/{item['block_hash']}/filter")
            if item["height"] > 2:
                previous = hex_to_hash(headers[item["height"] - 1]["header"])
            expected = sha256d(sha256d(bytes.fromhex(one["filter"])) + previous)
            assert hex_to_hash(one["header"]) == expected == hex_to_hash(item["header"])
            previous = expected
        assert len(await api.get_json(f"/v1/block/{paid_in}/filter-headers")) == 1

        # A reorg: the payment's block is undone and replaced by an empty one.
        reply = await api.post(f"/v1/block/{paid_in}/invalidate", headers=api.admin)
        assert reply.status == 200, reply.text
        gone = await api.get(f"/v1/block/{paid_in}/filter")
        assert (gone.status, gone.error_code) == (404, "not_in_active_chain")
        (replacement,) = await api.generate(1, key=BOB)
        new = await api.get_json(f"/v1/block/{replacement}/filter")
        assert new["height"] == 102 and new["header"] != got["header"]
        top = (await api.get_json(f"/v1/block/{genesis}/filter-headers?count=2000"))[-1]
        assert top == {"block_hash": replacement, "height": 102, "header": new["header"]}

        for path, status, code in (
            (f"/v1/block/{'00' * 32}/filter", 404, "block_not_found"),
            ("/v1/block/zz/filter", 400, "bad_hash"),
            (f"/v1/block/{genesis}/filter-headers?count=0", 400, "bad_count"),
            (f"/v1/block/{genesis}/filter-headers?count=2001", 400, "bad_count"),
            (f"/v1/block/{paid_in}/filter-headers", 404, "not_in_active_chain"),
        ):
            reply = await api.get(path)
            assert (reply.status, reply.error_code) == (status, code), path


async def test_scan_blocks_finds_the_blocks_of_an_address(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        mined = await api.generate(101)  # ALICE's coinbases
        payment = pay(await api.coinbase_at(1), ALICE, BOB, 10 * COIN)
        assert (await api.post_tx(payment)).status == 200
        (paid_in,) = await api.generate(1, key=CAROL)
        await api.generate(3)

        async def scan(body: dict[str, Any]) -> dict[str, Any]:
            reply = await api.post("/v1/chain/scan-blocks", json=body, headers=api.admin)
            assert reply.status == 200, reply.text
            result: dict[str, Any] = reply.json()
            return result

        bob = await scan({"addresses": [BOB.address()]})
        assert bob["from_height"] == 0 and bob["to_height"] == 105
        assert {"block_hash": paid_in, "height": 102} in bob["relevant_blocks"]
        # no false negative: every block ALICE mined to is found, the first 100 in range
        alice = await scan({"addresses": [ALICE.address()], "start_height": 1, "stop_height": 100})
        found = {b["block_hash"] for b in alice["relevant_blocks"]}
        assert set(mined[:100]) <= found and alice["to_height"] == 100
        nobody = await scan({"addresses": [NOBODY.address()], "stop_height": None})
        assert len(nobody["relevant_blocks"]) <= 2  # false positives only (rate 1 in 784,931)

        body = {"addresses": [BOB.address()]}
        assert (await api.post("/v1/chain/scan-blocks", json=body)).status == 401
        async with api.server.app[SCAN_LOCK]:  # another scan running
            reply = await api.post("/v1/chain/scan-blocks", json=body, headers=api.admin)
            assert (reply.status, reply.error_code) == (409, "scan_in_progress")
        for bad, code in (
            ({"addresses": []}, "bad_field"),
            ({"addresses": ["rsc1bad"]}, "malformed_address"),
            ({"addresses": [BOB.address()], "start_height": 5, "stop_height": 4}, "bad_range"),
            ({"addresses": [BOB.address()], "stop_height": 106}, "bad_range"),
            ({"addresses": [BOB.address()], "start_height": -1}, "bad_range"),
            ({"addresses": [BOB.address()], "start_height": "1"}, "bad_field"),
        ):
            reply = await api.post("/v1/chain/scan-blocks", json=bad, headers=api.admin)
            assert (reply.status, reply.error_code) == (400, code), (bad, reply.text)
