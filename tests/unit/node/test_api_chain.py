"""REST API: chain and block endpoints, health, metrics, the OpenAPI document, and the error
shape of unknown paths and methods — against a real regtest node."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from consensus.block import Block
from consensus.params import REGTEST
from node.api.openapi import build_openapi
from tests.unit.node.test_api_support import ALICE, LiveApi, live_api

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveApi]:
    async with live_api(tmp_path_factory.mktemp("chain")) as live:
        live.hashes = await live.generate(12)  # type: ignore[attr-defined]
        yield live


async def test_healthz(api: LiveApi) -> None:
    reply = await api.get("/healthz")
    assert reply.status == 200
    assert reply.json() == {"status": "ok"}


async def test_chain_summary(api: LiveApi) -> None:
    info = await api.get_json("/v1/chain")
    assert info["network"] == "regtest"
    assert info["chain_id"] == "seedchain-regtest"
    assert info["height"] == 12
    assert info["tip"] == api.hashes[-1]  # type: ignore[attr-defined]
    assert info["bits"] == REGTEST.pow_limit_bits
    assert info["difficulty"] == 1.0
    assert int(info["chainwork"], 16) > 0
    assert info["mempool"] == {"count": 0, "bytes": 0}
    assert info["peers"] == 0
    assert isinstance(info["median_time"], int)
    assert info["initial_block_download"] is False and info["verification_progress"] == 1.0


async def test_tip_height_and_hash_are_plain_text(api: LiveApi) -> None:
    height = await api.get("/v1/blocks/tip/height")
    assert height.status == 200
    assert height.headers["Content-Type"].startswith("text/plain")
    assert height.text == "12"
    tip = await api.get("/v1/blocks/tip/hash")
    assert tip.text == api.hashes[-1]  # type: ignore[attr-defined]


async def test_esplora_block_header_status_and_txid_at(api: LiveApi) -> None:
    hashes = api.hashes  # type: ignore[attr-defined]
    raw = (await api.get(f"/v1/block/{hashes[3]}/raw")).body
    header = await api.get(f"/v1/block/{hashes[3]}/header")
    assert header.headers["Content-Type"].startswith("text/plain")
    assert header.text == raw[:80].hex()
    assert await api.get_json(f"/v1/block/{hashes[3]}/status") == {
        "in_best_chain": True,
        "height": 4,
        "next_best": hashes[4],
    }
    tip = await api.get_json(f"/v1/block/{hashes[-1]}/status")
    assert tip == {"in_best_chain": True, "height": 12, "next_best": None}
    txids = await api.get_json(f"/v1/block/{hashes[3]}/txids")
    assert (await api.get(f"/v1/block/{hashes[3]}/txid/0")).text == txids[0]
    for path, status, code in (
        (f"/v1/block/{hashes[3]}/txid/1", 404, "tx_not_found"),
        (f"/v1/block/{hashes[3]}/txid/x", 400, "bad_index"),
        (f"/v1/block/{'00' * 32}/header", 404, "block_not_found"),
        (f"/v1/block/{'00' * 32}/status", 404, "block_not_found"),
        ("/v1/block/nothex/status", 400, "bad_hash"),
    ):
        reply = await api.get(path)
        assert reply.status == status and reply.error_code == code, path


async def test_blocks_newest_first_ten_at_most(api: LiveApi) -> None:
    blocks = await api.get_json("/v1/blocks")
    assert [b["height"] for b in blocks] == list(range(12, 2, -1))
    assert blocks[0]["id"] == api.hashes[-1]  # type: ignore[attr-defined]
    assert blocks[0]["previousblockhash"] == blocks[1]["id"]
    assert blocks[0]["tx_count"] == 1
    older = await api.get_json("/v1/blocks?start_height=3")
    assert [b["height"] for b in older] == [3, 2, 1, 0]
    assert older[-1]["previousblockhash"] is None
    beyond = await api.get_json("/v1/blocks?start_height=999")
    assert beyond[0]["height"] == 12
    for bad in ("-1", "abc", "1.5", "99999999999"):
        reply = await api.get("/v1/blocks?start_height=" + bad)
        assert reply.status == 400 and reply.error_code == "bad_height"


async def test_block_summary_txids_and_raw(api: LiveApi) -> None:
    block_hash = api.hashes[4]  # type: ignore[attr-defined]
    summary = await api.get_json(f"/v1/block/{block_hash}")
    assert summary["id"] == block_hash
    assert summary["height"] == 5
    assert summary["in_best_chain"] is True
    assert summary["weight"] == 4 * summary["size"]
    txids = await api.get_json(f"/v1/block/{block_hash}/txids")
    assert len(txids) == 1
    raw = await api.get(f"/v1/block/{block_hash}/raw")
    assert raw.status == 200
    assert raw.headers["Content-Type"] == "application/octet-stream"
    block = Block.decode(raw.body, REGTEST.max_block_size)
    assert block.hash_hex == block_hash
    assert len(raw.body) == summary["size"]
    assert [tx.txid_hex for tx in block.transactions] == txids
    upper = await api.get(f"/v1/block/{block_hash.upper()}")
    assert upper.status == 200


async def test_block_at_height(api: LiveApi) -> None:
    reply = await api.get("/v1/block-height/5")
    assert reply.status == 200 and reply.text == api.hashes[4]  # type: ignore[attr-defined]
    genesis = await api.get("/v1/block-height/0")
    assert genesis.text == REGTEST.genesis_hash_hex
    missing = await api.get("/v1/block-height/13")
    assert missing.status == 404 and missing.error_code == "block_not_found"
    for bad in ("-1", "x", "4294967296"):
        reply = await api.get("/v1/block-height/" + bad)
        assert reply.status == 400 and reply.error_code == "bad_height"


@pytest.mark.parametrize("suffix", ["", "/txids", "/raw"])
async def test_unknown_and_malformed_block_hashes(api: LiveApi, suffix: str) -> None:
    missing = await api.get(f"/v1/block/{'ab' * 32}{suffix}")
    assert missing.status == 404 and missing.error_code == "block_not_found"
    for bad in ("zz" * 32, "ab" * 31, "ab" * 33):
        reply = await api.get(f"/v1/block/{bad}{suffix}")
        assert reply.status == 400 and reply.error_code == "bad_hash"


async def test_unknown_path_and_method_use_the_error_shape(api: LiveApi) -> None:
    reply = await api.get("/v1/nothing-here")
    assert reply.status == 404 and reply.error_code == "not_found"
    wrong = await api.request("PUT", "/v1/chain")
    assert wrong.status == 405 and wrong.error_code == "method_not_allowed"
    assert "GET" in wrong.headers["Allow"]


async def test_openapi_document_is_valid_and_covers_every_route(api: LiveApi) -> None:
    from openapi_spec_validator import validate

    document = await api.get_json("/v1/openapi.json")
    validate(document)
    assert document == build_openapi(REGTEST)
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    served = {
        (route.method, route.resource.canonical)
        for route in api.server.app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    assert documented == served
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            success = "101" if path == "/v1/ws" else "200"  # the WebSocket's is the upgrade
            assert success in operation["responses"], (method, path)
            for status in ("429", "500", "503"):
                assert status in operation["responses"], (method, path, status)


async def test_metrics(api: LiveApi) -> None:
    await api.get(f"/v1/block/{api.hashes[0]}")  # type: ignore[attr-defined]
    reply = await api.get("/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain")
    text = reply.text
    assert "seedchain_height 12.0" in text
    assert "seedchain_blocks_connected_total 12.0" in text
    assert "seedchain_blocks_disconnected_total 0.0" in text
    assert "seedchain_ws_subscribers 0.0" in text
    assert "seedchain_p2p_inbound_evictions_total 0.0" in text
    assert 'seedchain_peers{direction="in"} 0.0' in text
    assert "seedchain_mempool_transactions 0.0" in text
    assert "seedchain_mempool_bytes 0.0" in text
    assert "seedchain_miner_hashrate_hashes_per_second 0.0" in text
    assert 'route="/v1/block/{hash}"' in text  # the template, never the raw path
    assert api.hashes[0] not in text  # type: ignore[attr-defined]


async def test_p2p_and_tx_metric_hooks(api: LiveApi) -> None:
    metrics = api.server.metrics
    metrics.p2p_message("in", "block", 1234)
    metrics.p2p_message("out", "made-up-command", 10)
    metrics.record_tx_result("bad_signature", source="p2p")
    with pytest.raises(ValueError):
        metrics.p2p_message("sideways", "ping", 1)
    text = (await api.get("/metrics")).text
    assert 'seedchain_p2p_bytes_total{command="block",direction="in"} 1234.0' in text
    assert 'seedchain_p2p_messages_total{command="other",direction="out"} 1.0' in text
    assert 'seedchain_transactions_rejected_total{reason="bad_signature",source="p2p"} 1.0' in text


async def test_generate_pays_the_address(api: LiveApi) -> None:
    info = await api.get_json(f"/v1/address/{ALICE.address()}")
    assert info["chain_stats"]["funded_txo_count"] == 12
    assert info["chain_stats"]["funded_txo_sum"] == 12 * 50 * 100_000_000
