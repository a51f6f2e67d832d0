"""``POST /v1/mining/proposal`` (BIP 23 block proposals): a block on our tip is judged by every
rule but the proof of work and nothing is kept."""

from __future__ import annotations

import time
from pathlib import Path

from consensus.block import Block
from consensus.transaction import TxOut
from node.template import make_template
from tests.unit.node.test_api_support import ALICE, BOB, COIN, live_api, pay


async def test_block_proposals(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        await api.generate(101)
        tx = pay(await api.coinbase_at(1), ALICE, BOB, COIN, fee=5000)
        assert (await api.post_tx(tx)).status == 200
        node = api.node
        template = await node.call(
            make_template, node.chain.tip, node.mempool, node.params, int(time.time())
        )
        tip = await api.get_json("/v1/chain")

        async def verdict(block: Block) -> dict[str, object]:
            body = {"block": block.encoded.hex()}
            reply = await api.post("/v1/mining/proposal", json=body)
            assert reply.status == 200, reply.text
            result: dict[str, object] = reply.json()
            return result

        good = template.block([TxOut(template.reward, ALICE.lock)])
        assert await verdict(good) == {
            "hash": good.hash_hex, "valid": True, "reason": None, "message": None
        }  # fmt: skip
        greedy = template.block([TxOut(template.reward + 1, ALICE.lock)])
        assert (await verdict(greedy))["reason"] == "coinbase_too_large"
        stale = template.block([TxOut(template.reward, ALICE.lock)])
        await api.generate(1)  # the tip moves on
        assert (await verdict(stale))["reason"] == "inconclusive_not_best_prevblk"
        # nothing was kept: the chain moved only by the generated block, the tx was mined
        assert (await api.get_json("/v1/chain"))["height"] == tip["height"] + 1
        bad = await api.post("/v1/mining/proposal", json={"block": "00"})
        assert bad.status == 400
