"""REST API across a reorg: a longer competing branch built with ``consensus.assemble`` on an
earlier parent and submitted through ``POST /v1/mining/submit``; the address index, the
transaction index and the mempool view must all follow the new chain."""

from __future__ import annotations

from pathlib import Path

from consensus.assemble import assemble_block, solve_block
from consensus.block import Block
from consensus.coinbase import block_subsidy
from consensus.hashing import hex_to_hash
from consensus.params import REGTEST
from consensus.transaction import TxOut
from tests.unit.node.test_api_support import ALICE, BOB, CAROL, COIN, LiveApi, live_api, pay


async def fork_blocks(api: LiveApi, parent_height: int, count: int, tag: bytes) -> list[Block]:
    """``count`` solved blocks paying CAROL on the active block at ``parent_height``."""
    parent_hash = (await api.get(f"/v1/block-height/{parent_height}")).text
    parent = await api.get_json(f"/v1/block/{parent_hash}")
    previous = hex_to_hash(parent_hash)
    time = max(parent["timestamp"], parent["mediantime"]) + 1
    blocks = []
    for height in range(parent_height + 1, parent_height + 1 + count):
        reward = block_subsidy(height, REGTEST.halving_interval)
        block = assemble_block(
            previous,
            height,
            time,
            REGTEST.pow_limit_bits,
            [],
            [TxOut(reward, CAROL.lock)],
            tag=tag,
        )
        solved = solve_block(block)
        assert solved is not None
        blocks.append(solved)
        previous = solved.hash
        time += 1
    return blocks


async def submit(api: LiveApi, block: Block) -> dict[str, object]:
    reply = await api.post("/v1/mining/submit", json={"block": block.encoded.hex()})
    assert reply.status == 200, reply.text
    result: dict[str, object] = reply.json()
    return result


async def test_address_index_follows_a_reorg(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        await api.generate(101)
        payment = pay(await api.coinbase_at(1), ALICE, BOB, 5 * COIN)
        assert (await api.post_tx(payment)).status == 200
        old_hashes = await api.generate(2)  # heights 102, 103: the payment confirms in 102
        old_coinbases = [(await api.get_json(f"/v1/block/{h}/txids"))[0] for h in old_hashes]
        bob = await api.get_json(f"/v1/address/{BOB.address()}")
        assert bob["chain_stats"]["funded_txo_sum"] == 5 * COIN

        branch = await fork_blocks(api, 101, 3, b"fork")  # 102', 103', 104': more work
        assert (await submit(api, branch[0]))["status"] == "stored"
        assert (await submit(api, branch[1]))["status"] == "stored"
        result = await submit(api, branch[2])
        assert result == {"hash": branch[2].hash_hex, "height": 104, "status": "connected"}

        assert (await api.get("/v1/blocks/tip/hash")).text == branch[2].hash_hex
        old_block = await api.get_json(f"/v1/block/{old_hashes[0]}")
        assert old_block["in_best_chain"] is False
        # The payment's block is gone: its spend of the coinbase is unconfirmed again.
        funding = payment.inputs[0].txid[::-1].hex()
        assert await api.get_json(f"/v1/tx/{funding}/outspend/0") == {
            "spent": True, "txid": payment.txid_hex, "vin": 0, "status": {"confirmed": False},
        }  # fmt: skip
        index = api.server.context.index
        assert index is not None  # and its spending row went with the block
        assert await api.node.call(index.spender, payment.inputs[0]) is None
        assert await api.get_json(f"/v1/block/{old_hashes[0]}/status") == {"in_best_chain": False}
        assert await api.get_json(f"/v1/block/{branch[0].hash_hex}/status") == {
            "in_best_chain": True,
            "height": 102,
            "next_best": branch[1].hash_hex,
        }

        carol = await api.get_json(f"/v1/address/{CAROL.address()}")
        assert carol["chain_stats"]["funded_txo_count"] == 3
        assert carol["chain_stats"]["tx_count"] == 3
        assert len(await api.get_json(f"/v1/address/{CAROL.address()}/utxo")) == 3

        alice = await api.get_json(f"/v1/address/{ALICE.address()}")
        assert alice["chain_stats"]["funded_txo_count"] == 101  # the old 102, 103 are gone
        assert alice["chain_stats"]["spent_txo_count"] == 0
        # the payment is back in the mempool: unconfirmed for both sides
        assert alice["mempool_stats"]["spent_txo_count"] == 1
        bob = await api.get_json(f"/v1/address/{BOB.address()}")
        assert bob["chain_stats"]["tx_count"] == 0
        assert bob["mempool_stats"]["funded_txo_sum"] == 5 * COIN
        status = await api.get_json(f"/v1/tx/{payment.txid_hex}/status")
        assert status == {"confirmed": False}
        for txid in old_coinbases:  # the old branch's coinbases left the transaction index
            reply = await api.get(f"/v1/tx/{txid}")
            assert reply.status == 404

        history = await api.get_json(f"/v1/address/{ALICE.address()}/txs?limit=3")
        assert history["txs"][0]["txid"] == payment.txid_hex
        assert [t["status"].get("block_height") for t in history["txs"][1:]] == [101, 100, 99]

        metrics = (await api.get("/metrics")).text
        assert "seedchain_blocks_disconnected_total 2.0" in metrics
        assert "seedchain_reorgs_total 1.0" in metrics

        # and back: the old branch grows longer again, the payment confirms again
        await api.generate(2)  # on the new tip: 105, 106 with the payment in 105
        status = await api.get_json(f"/v1/tx/{payment.txid_hex}/status")
        assert status["confirmed"] is True and status["block_height"] == 105
        bob = await api.get_json(f"/v1/address/{BOB.address()}")
        assert bob["chain_stats"]["funded_txo_sum"] == 5 * COIN
        assert bob["mempool_stats"]["tx_count"] == 0


def block_on(previous: bytes, height: int, time: int, tag: bytes, overpay: int = 0) -> Block:
    """A solved block on ``previous`` paying CAROL its subsidy (plus ``overpay``: invalid)."""
    reward = block_subsidy(height, REGTEST.halving_interval) + overpay
    block = assemble_block(
        previous, height, time, REGTEST.pow_limit_bits, [], [TxOut(reward, CAROL.lock)], tag=tag
    )
    solved = solve_block(block)
    assert solved is not None
    return solved


async def test_chain_tips_follow_forks_and_reorgs(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        hashes = await api.generate(5)
        assert await api.get_json("/v1/chain/tips") == [
            {"height": 5, "hash": hashes[-1], "branchlen": 0, "status": "active"}
        ]

        # a stored block beside the chain, with less work: valid-headers (never connected)
        side = (await fork_blocks(api, 3, 1, b"side"))[0]
        assert (await submit(api, side))["status"] == "stored"
        # a header on top of it whose block never arrives: headers-only, and the side block
        # is no longer a tip
        header_only = block_on(side.hash, 5, side.header.time + 1, b"header")
        chain = api.node.chain
        await api.node.call(chain.accept_header, header_only.header, header_only.header.time)
        tips = await api.get_json("/v1/chain/tips")
        assert [(t["height"], t["branchlen"], t["status"]) for t in tips] == [
            (5, 0, "active"),
            (5, 2, "headers-only"),
        ]
        assert tips[1]["hash"] == header_only.hash_hex

        # a longer branch from height 2 takes over: the old tip is a connected fork now
        branch = await fork_blocks(api, 2, 5, b"long")
        for block in branch:
            await submit(api, block)
        # and a block on the new tip that pays itself too much: invalid
        bad = block_on(branch[-1].hash, 8, branch[-1].header.time + 1, b"bad", overpay=1)
        reply = await api.post("/v1/mining/submit", json={"block": bad.encoded.hex()})
        assert (reply.status, reply.error_code) == (400, "coinbase_too_large"), reply.text
        again = await api.post("/v1/mining/submit", json={"block": bad.encoded.hex()})
        assert again.error_code == "known_invalid_block"
        tips = await api.get_json("/v1/chain/tips")
        assert [(t["hash"], t["height"], t["branchlen"], t["status"]) for t in tips] == [
            (bad.hash_hex, 8, 1, "invalid"),
            (branch[-1].hash_hex, 7, 0, "active"),
            *sorted(
                [
                    (hashes[-1], 5, 3, "valid-fork"),
                    (header_only.hash_hex, 5, 3, "headers-only"),
                ],
                key=lambda t: (t[3] != "active", t[0]),
            ),
        ]
        assert await api.get_json("/v1/chain/tips?limit=1") == [tips[0]]
        for bad_limit in ("0", "1001", "x"):
            reply = await api.get(f"/v1/chain/tips?limit={bad_limit}")
            assert reply.status == 400 and reply.error_code == "bad_limit"


async def test_invalidate_and_reconsider_through_the_api(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        await api.generate(101)
        payment = pay(await api.coinbase_at(1), ALICE, BOB, 5 * COIN)
        assert (await api.post_tx(payment)).status == 200
        [confirming] = await api.generate(1)  # height 102
        assert (await api.get_json(f"/v1/tx/{payment.txid_hex}/status"))["confirmed"] is True

        path = f"/v1/block/{confirming}/invalidate"
        assert (await api.post(path)).status == 401
        reply = await api.post(path, headers=api.admin)
        assert reply.status == 200, reply.text
        tip_101 = (await api.get("/v1/block-height/101")).text
        assert reply.json() == {
            "hash": confirming, "tip": tip_101, "height": 101, "disconnected": 1, "connected": 0,
        }  # fmt: skip
        # the payment is unconfirmed again, the index follows, the tips show the verdict
        assert await api.get_json(f"/v1/tx/{payment.txid_hex}/status") == {"confirmed": False}
        assert await api.get_json("/v1/mempool/txids") == [payment.txid_hex]
        bob = await api.get_json(f"/v1/address/{BOB.address()}")
        assert bob["chain_stats"]["tx_count"] == 0 and bob["mempool_stats"]["tx_count"] == 1
        tips = await api.get_json("/v1/chain/tips")
        assert [(t["hash"], t["status"]) for t in tips] == [
            (confirming, "invalid"),
            (tip_101, "active"),
        ]
        [replacement] = await api.generate(1)  # mining goes on from 101
        assert replacement != confirming
        assert (await api.get_json(f"/v1/tx/{payment.txid_hex}/status"))["block_height"] == 102

        reply = await api.post(f"/v1/block/{confirming}/reconsider", headers=api.admin)
        assert reply.status == 200, reply.text
        # equal work never moves the active tip: the reconsidered block is a valid fork again
        assert (reply.json()["tip"], reply.json()["height"]) == (replacement, 102)
        tips = await api.get_json("/v1/chain/tips")
        assert [(t["hash"], t["status"]) for t in tips] == sorted(
            [(replacement, "active"), (confirming, "valid-fork")], key=lambda t: t[1] != "active"
        )
        await api.post(f"/v1/block/{replacement}/invalidate", headers=api.admin)
        assert (await api.get("/v1/blocks/tip/hash")).text == confirming  # back on it

        for hash_hex, status, code in [
            ("42" * 32, 404, "block_not_found"),
            ((await api.get("/v1/block-height/0")).text, 400, "genesis"),
            ("zz", 400, "bad_hash"),
        ]:
            reply = await api.post(f"/v1/block/{hash_hex}/invalidate", headers=api.admin)
            assert (reply.status, reply.error_code) == (status, code), reply.text
