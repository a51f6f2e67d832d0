"""HttpNodeClient against the node's REST shapes (served by the fake node): templates are
parsed and checked, refusals become BlockRejected, unknown blocks None, faults NodeError."""

from __future__ import annotations

import pytest
from pool_testkit import FakeChain, bits_for_work, serve_fake_node

from consensus.hashing import hash_to_hex
from pool.errors import BlockRejected, NodeError
from pool.nodeclient import HttpNodeClient, template_from_json


async def test_http_node_client_round_trip() -> None:
    chain = FakeChain(bits_for_work(2**8))
    async with serve_fake_node(chain) as url:
        client = HttpNodeClient(url)
        try:
            info = await client.chain()
            assert (info.network, info.height) == ("regtest", 0)
            assert await client.tip_hash() == hash_to_hex(chain.tip)
            template = await client.template()
            expected = chain.template()
            assert template.content_key == expected.content_key
            assert template.merkle_branch == expected.merkle_branch
            assert (template.min_time, template.target) == (expected.min_time, expected.target)
            with pytest.raises(BlockRejected) as refused:
                await client.submit_block(chain.params.genesis.encoded[:-1] + b"\x00")
            assert refused.value.code
            mined = chain.mine_external()
            result = await client.submit_block(mined.encoded)
            assert (result.hash, result.status) == (mined.hash_hex, "duplicate")
            block = await client.block(mined.hash_hex)
            assert block is not None and block.height == 1 and block.in_best_chain
            assert block.previous_hash == chain.params.genesis.hash_hex
            assert await client.block("00" * 32) is None
            assert await client.block_hash_at(1) == mined.hash_hex
            assert await client.block_hash_at(99) is None
        finally:
            await client.aclose()


async def test_unreachable_node_is_a_node_error() -> None:
    client = HttpNodeClient("http://127.0.0.1:9", timeout=2.0)
    with pytest.raises(NodeError):
        await client.tip_hash()
    await client.aclose()


def test_template_checks() -> None:
    chain = FakeChain(bits_for_work(2**8))
    t = chain.template()
    data = {
        "height": t.height,
        "previous_hash": hash_to_hex(t.previous_hash),
        "version": 1,
        "bits": t.bits,
        "target": f"{t.target:064x}",
        "time": t.time,
        "min_time": t.min_time,
        "transactions": [{"data": tx.encoded.hex()} for tx in t.transactions],
        "fees": t.fees,
        "reward": t.reward,
    }
    assert template_from_json(data).merkle_branch == t.merkle_branch
    with pytest.raises(NodeError):
        template_from_json({**data, "merkle_branch": ["00" * 32]})
    with pytest.raises(NodeError):
        template_from_json({**data, "transactions": [{"data": "zz"}]})
    with pytest.raises(NodeError):
        template_from_json({k: v for k, v in data.items() if k != "bits"})
