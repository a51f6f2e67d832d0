"""The node client against small aiohttp servers: typed errors, limits, retries, timeouts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import pytest
from aiohttp import web

from consensus.params import MAIN, REGTEST
from tests.framework.util import free_port
from wallet.client import NodeClient, check_node_url, default_node_url
from wallet.errors import BroadcastRejected, InvalidInput, NodeError, NodeUnreachable
from wallet.history import ChainTx

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def serve(routes: Mapping[str, Handler]) -> AsyncIterator[str]:
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def test_default_url_and_url_checks() -> None:
    assert default_node_url(REGTEST) == "http://127.0.0.1:28732"
    assert default_node_url(MAIN) == "http://127.0.0.1:8732"
    assert check_node_url("http://node:1/") == "http://node:1"
    for bad in ("ftp://x", "node:1", "http://", "http://x:99999", "http://u:p@x", "http://x?a=1"):
        with pytest.raises(InvalidInput):
            check_node_url(bad)


async def test_unreachable_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with NodeClient(url) as node:
        with pytest.raises(NodeUnreachable, match=url.replace(".", r"\.")) as info:
            await node.chain()
    assert "\n" not in str(info.value)


async def test_api_errors_carry_status_and_code() -> None:
    async def bad(request: web.Request) -> web.Response:
        return web.json_response(
            {"error": {"code": "bad_hash", "message": "block hash must be 64 hex digits"}},
            status=400,
        )

    async def conflict(request: web.Request) -> web.Response:
        return web.json_response(
            {"error": {"code": "mempool_conflict", "message": "spends a spent output"}},
            status=409,
        )

    async with serve({"/v1/chain": bad, "/v1/tx": conflict}) as url, NodeClient(url) as node:
        with pytest.raises(NodeError, match=r"64 hex digits \(bad_hash\)") as info:
            await node.chain()
        assert (info.value.status, info.value.api_code) == (400, "bad_hash")
        with pytest.raises(BroadcastRejected, match="mempool_conflict") as rejected:
            await node.broadcast(b"\x90")
        assert (rejected.value.status, rejected.value.api_code) == (409, "mempool_conflict")


async def test_malformed_and_oversized_answers() -> None:
    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html>proxy error</html>", status=200)

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(100):
            await response.write(b"x" * 1000)
        return response

    async def estimates(request: web.Request) -> web.Response:
        return web.json_response({"6": "fast"})

    routes = {"/v1/chain": html, "/v1/blocks/tip/hash": huge, "/v1/fee-estimates": estimates}
    async with serve(routes) as url, NodeClient(url, max_response_bytes=10_000) as node:
        with pytest.raises(NodeError, match="malformed"):
            await node.chain()
        with pytest.raises(NodeError, match="over 10000 bytes"):
            await node.tip_hash()
        with pytest.raises(NodeError, match="fee estimates"):
            await node.fee_estimates()


async def test_rate_limit_is_retried() -> None:
    calls = 0

    async def limited(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls < 3:
            return web.json_response(
                {"error": {"code": "rate_limited", "message": "slow down"}},
                status=429,
                headers={"Retry-After": "0.05"},
            )
        return web.json_response({"6": 1.5})

    async with serve({"/v1/fee-estimates": limited}) as url, NodeClient(url) as node:
        assert await node.fee_estimates() == {6: 1.5}
    assert calls == 3


async def test_rate_limit_gives_up_after_the_budget() -> None:
    async def limited(request: web.Request) -> web.Response:
        return web.json_response(
            {"error": {"code": "rate_limited", "message": "slow down"}},
            status=429,
            headers={"Retry-After": "0.1"},
        )

    async with (
        serve({"/v1/chain": limited}) as url,
        NodeClient(url, retry_budget=0.3) as node,
    ):
        with pytest.raises(NodeError, match="rate_limited"):
            await node.chain()


async def test_timeout() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({})

    async with serve({"/v1/chain": slow}) as url, NodeClient(url, timeout=0.2) as node:
        with pytest.raises(NodeUnreachable, match=r"did not answer within 0\.2 s"):
            await node.chain()


async def test_history_pages_are_followed() -> None:
    seen: list[str | None] = []

    async def txs(request: web.Request) -> web.Response:
        cursor = request.query.get("cursor")
        seen.append(cursor)
        if cursor is None:
            return web.json_response({"txs": [{"n": 1}], "next_cursor": "AAAA"})
        return web.json_response({"txs": [{"n": 2}], "next_cursor": None})

    async with serve({"/v1/address/{a}/txs": txs}) as url, NodeClient(url) as node:
        assert await node.address_history("rsc1xyz") == [{"n": 1}, {"n": 2}]
    assert seen == [None, "AAAA"]


def test_malformed_transactions_are_node_errors() -> None:
    bad: object
    for bad in ({}, {"txid": "zz", "vin": [], "vout": [], "status": {"confirmed": False}}, []):
        with pytest.raises(NodeError, match="malformed transaction"):
            ChainTx.from_json(bad)
    negative = {
        "txid": "00" * 32,
        "vin": [],
        "vout": [{"scriptpubkey": "00" * 21, "value": -5}],
        "status": {"confirmed": False},
    }
    with pytest.raises(NodeError):
        ChainTx.from_json(negative)
