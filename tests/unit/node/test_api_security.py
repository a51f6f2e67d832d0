"""REST API guards: the admin cookie and token (401/403), body limits (413), the rate limit
(429 with Retry-After), readiness (503), the catch-all 500, and the peer endpoints."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from consensus.params import REGTEST
from node.api import ApiSettings, create_api, routes_chain
from node.api.guard import RateLimiter, write_cookie
from node.config import HostPort, NodeConfig
from node.server import Node
from tests.unit.node.test_api_support import ALICE, LiveApi, live_api

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveApi]:
    async with live_api(tmp_path_factory.mktemp("security")) as live:
        yield live


# --- the cookie ---------------------------------------------------------------------------------
async def test_cookie_is_private_and_removed_at_stop(tmp_path: Path) -> None:
    async with live_api(tmp_path) as live:
        path = tmp_path / "api.cookie"
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == 0o600
        token = path.read_text()
        assert len(token) == 64 and int(token, 16) >= 0
        assert live.server.token == token
    assert not path.exists()


async def test_cookie_is_0600_even_under_a_permissive_umask(tmp_path: Path) -> None:
    (tmp_path / "api.cookie").write_text("stale")  # left by a crashed run
    old = os.umask(0)
    try:
        path = write_cookie(tmp_path, "ab" * 32)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "ab" * 32


# --- admin auth ---------------------------------------------------------------------------------
ADMIN_CALLS = [
    ("POST", "/v1/mining/generate", {"blocks": 1, "address": ALICE.address()}),
    ("POST", "/v1/peers", {"address": "127.0.0.1:1"}),
    ("DELETE", "/v1/peers/127.0.0.1:1", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
async def test_admin_endpoints_need_the_token(
    api: LiveApi, method: str, path: str, body: object
) -> None:
    reply = await api.request(method, path, json=body)
    assert reply.status == 401 and reply.error_code == "unauthorized"
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    for header in ("Bearer " + "00" * 32, "Bearer x", "Basic abc", "Bearer"):
        reply = await api.request(method, path, json=body, headers={"Authorization": header})
        expected = 401 if header in ("Basic abc", "Bearer") else 403
        assert reply.status == expected, header
    assert api.token not in (await api.get("/metrics")).text


async def test_generate_validates_and_is_regtest_only(api: LiveApi) -> None:
    for body, code in [
        ({"blocks": 0, "address": ALICE.address()}, "bad_blocks"),
        ({"blocks": 1001, "address": ALICE.address()}, "bad_blocks"),
        ({"blocks": "1", "address": ALICE.address()}, "bad_field"),
        ({"blocks": True, "address": ALICE.address()}, "bad_field"),
        ({"blocks": 1}, "missing_field"),
        ({"blocks": 1, "address": "rsc1nope"}, "malformed_address"),
    ]:
        reply = await api.post("/v1/mining/generate", json=body, headers=api.admin)
        assert reply.status == 400 and reply.error_code == code, body
    ctx = api.server.context
    ctx.params = replace(REGTEST, name="test")
    try:
        reply = await api.post(
            "/v1/mining/generate", json={"blocks": 1, "address": ALICE.address()}, headers=api.admin
        )
    finally:
        ctx.params = REGTEST
    assert reply.status == 403 and reply.error_code == "not_regtest"


# --- peers --------------------------------------------------------------------------------------
async def test_peer_endpoints(api: LiveApi) -> None:
    assert await api.get_json("/v1/peers") == []
    reply = await api.post("/v1/peers", json={"address": "bad address"}, headers=api.admin)
    assert reply.status == 400 and reply.error_code == "invalid_peer_address"
    reply = await api.post("/v1/peers", json={"address": "127.0.0.1:1"}, headers=api.admin)
    assert reply.status == 502, reply.text  # nothing listens on port 1
    reply = await api.request("DELETE", "/v1/peers/127.0.0.1:1", headers=api.admin)
    assert reply.status == 404 and reply.error_code == "peer_not_found"
    node = api.node
    manager, node.connmgr = node.connmgr, None
    try:
        assert await api.get_json("/v1/peers") == []
        reply = await api.post("/v1/peers", json={"address": "127.0.0.1:1"}, headers=api.admin)
        assert reply.status == 503 and reply.error_code == "p2p_disabled"
        assert (await api.get_json("/v1/chain"))["peers"] == 0
    finally:
        node.connmgr = manager


async def test_connect_list_and_disconnect_a_real_peer(api: LiveApi, tmp_path: Path) -> None:
    async with live_api(tmp_path, listen=True) as other:
        address = f"127.0.0.1:{other.node.p2p_port}"
        reply = await api.post("/v1/peers", json={"address": address}, headers=api.admin)
        assert reply.status == 200, reply.text
        assert reply.json()["connected"] is True
        peers = await api.get_json("/v1/peers")
        assert [p["address"] for p in peers] == [reply.json()["address"]]
        assert peers[0]["inbound"] is False
        assert peers[0]["best_height"] == 0
        assert (await api.get_json("/v1/chain"))["peers"] == 1
        metrics = (await api.get("/metrics")).text
        assert 'seedchain_peers{direction="out"} 1.0' in metrics
        reply = await api.request(
            "DELETE", f"/v1/peers/{reply.json()['address']}", headers=api.admin
        )
        assert reply.status == 200 and reply.json()["disconnected"] is True
        for _ in range(100):
            if not await api.get_json("/v1/peers"):
                break
            await asyncio.sleep(0.02)
        assert await api.get_json("/v1/peers") == []


# --- body limits --------------------------------------------------------------------------------
async def test_oversize_bodies_are_413(api: LiveApi) -> None:
    limit = api.server.context.settings.max_body_bytes
    reply = await api.post("/v1/tx", data=b"00" * (limit // 2 + 1))
    assert reply.status == 413 and reply.error_code == "body_too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while reading
        for _ in range(limit // 65536 + 2):
            yield b"0" * 65536

    reply = await api.post("/v1/tx", data=chunks())
    assert reply.status == 413 and reply.error_code == "body_too_large"
    block_limit = api.server.context.settings.max_block_body_bytes
    reply = await api.post("/v1/mining/submit", data=b" " * (block_limit + 1))
    assert reply.status == 413
    reply = await api.post(
        "/v1/peers", data=b" " * 5000, headers={**api.admin, "Content-Type": "application/json"}
    )
    assert reply.status == 413


# --- readiness and faults -----------------------------------------------------------------------
async def test_not_started_node_answers_503_but_is_alive(tmp_path: Path) -> None:
    config = NodeConfig(
        params=REGTEST,
        datadir=tmp_path,
        p2p_bind=HostPort("127.0.0.1", 0),
        api_bind=HostPort("127.0.0.1", 0),
    )
    app = create_api(Node(config), ApiSettings(rate_limit=0))
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/v1/chain")
        assert response.status == 503
        assert (await response.json())["error"]["code"] == "not_ready"
        assert (await client.get("/healthz")).status == 200
        assert (await client.get("/v1/openapi.json")).status == 200


async def test_far_behind_peers_answers_503_syncing(api: LiveApi) -> None:
    ctx = api.server.context
    original = ctx.best_peer_height
    ctx.best_peer_height = lambda: 10_000  # type: ignore[method-assign]
    try:
        for path in (f"/v1/address/{ALICE.address()}", "/v1/mining/template", "/v1/fee-estimates"):
            reply = await api.get(path)
            assert reply.status == 503 and reply.error_code == "syncing", path
        progress = await api.get_json("/v1/chain")  # progress stays visible
        assert progress["initial_block_download"] is True and progress["headers"] == 10_000
        assert 0 <= progress["verification_progress"] < 0.01
    finally:
        ctx.best_peer_height = original  # type: ignore[method-assign]


async def test_unexpected_fault_is_a_logged_500_with_the_error_shape(
    api: LiveApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(routes_chain, "_chain_info_on_chain", broken)
    reply = await api.get("/v1/chain")
    assert reply.status == 500 and reply.error_code == "internal_error"
    assert "secret" not in reply.text


# --- rate limit ---------------------------------------------------------------------------------
async def test_rate_limit_429_with_retry_after(tmp_path: Path) -> None:
    settings = ApiSettings(rate_limit=1, rate_burst=5)
    async with live_api(tmp_path, settings) as live:
        statuses = [(await live.get("/v1/blocks/tip/height")).status for _ in range(10)]
        assert statuses[:5] == [200] * 5
        assert 429 in statuses[5:]
        reply = await live.get("/v1/blocks/tip/height")
        assert reply.status == 429 and reply.error_code == "rate_limited"
        retry_after = int(reply.headers["Retry-After"])
        assert retry_after >= 1
        await asyncio.sleep(retry_after + 0.1)  # 1 token/s: one is back
        assert (await live.get("/v1/blocks/tip/height")).status == 200
        metrics = live.server.metrics.render().decode()
        assert 'status="429"' in metrics


async def test_loopback_can_be_exempt(tmp_path: Path) -> None:
    settings = ApiSettings(rate_limit=1, rate_burst=1, rate_limit_loopback=False)
    async with live_api(tmp_path, settings) as live:
        statuses = {(await live.get("/healthz")).status for _ in range(20)}
        assert statuses == {200}


async def test_token_bucket_refills_and_bounds_its_memory() -> None:
    now = [0.0]
    limiter = RateLimiter(10, 3, max_clients=4, clock=lambda: now[0])
    assert [limiter.check("a") for _ in range(3)] == [0, 0, 0]
    wait = limiter.check("a")
    assert wait == pytest.approx(0.1)
    now[0] += 0.1
    assert limiter.check("a") == 0
    for i in range(10):
        limiter.check(f"client-{i}")
    assert len(limiter._buckets) <= 4


async def test_settings_from_node_config(tmp_path: Path) -> None:
    config = NodeConfig(
        params=REGTEST,
        datadir=tmp_path,
        p2p_bind=HostPort("127.0.0.1", 0),
        api_bind=HostPort("127.0.0.1", 0),
        extra={"api_rate_limit": "7", "api_rate_burst": "9", "api_rate_limit_loopback": "no"},
    )
    settings = ApiSettings.from_config(config)
    assert (settings.rate_limit, settings.rate_burst, settings.rate_limit_loopback) == (7, 9, False)
    assert aiohttp is not None
