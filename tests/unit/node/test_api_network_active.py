"""Admin ``POST /v1/network/active`` (Core's ``setnetworkactive``): off drops the peers and
refuses new ones, ``/v1/node`` shows it, on lets them back; ``--no-network-activity`` starts a
node with it off."""

from __future__ import annotations

from pathlib import Path

from tests.framework.util import wait_until
from tests.unit.node.test_api_support import LiveApi, live_api

PATH = "/v1/network/active"


async def _peer_count(api: LiveApi, want: int) -> None:
    async def counted() -> bool:
        return len(await api.get_json("/v1/peers")) == want

    await wait_until(counted, 30, message=f"{want} peer(s)")


async def _active(api: LiveApi) -> bool:
    return bool((await api.get_json("/v1/node"))["p2p"]["network_active"])


async def test_network_activity_off_and_on(tmp_path: Path) -> None:
    async with live_api(tmp_path / "a", listen=True) as api:
        admin = api.admin
        assert (await api.post(PATH, json={"active": False})).status == 401
        assert (
            await api.post(PATH, json={"active": False}, headers={"Authorization": "Bearer x"})
        ).status == 403
        for body, code in (({}, "missing_field"), ({"active": 0}, "bad_field"),
                           ({"active": "false"}, "bad_field")):  # fmt: skip
            reply = await api.post(PATH, json=body, headers=admin)
            assert reply.status == 400 and reply.error_code == code, (body, reply.text)
        assert await _active(api)

        async with live_api(tmp_path / "b", listen=True) as other:
            connect = {"address": f"127.0.0.1:{api.node.p2p_port}"}
            assert (await other.post("/v1/peers", json=connect, headers=other.admin)).status == 200
            await _peer_count(api, 1)

            reply = await api.post(PATH, json={"active": False}, headers=admin)
            assert reply.status == 200, reply.text
            assert reply.json() == {"network_active": False, "closed": 1}
            await _peer_count(api, 0)
            assert not await _active(api)
            # refused both ways while off
            reply = await other.post("/v1/peers", json=connect, headers=other.admin)
            assert reply.status == 502, reply.text
            back = {"address": f"127.0.0.1:{other.node.p2p_port}"}
            reply = await api.post("/v1/peers", json=back, headers=admin)
            assert reply.status == 409 and "network activity is off" in reply.text
            again = await api.post(PATH, json={"active": False}, headers=admin)
            assert again.json() == {"network_active": False, "closed": 0}

            reply = await api.post(PATH, json={"active": True}, headers=admin)
            assert reply.json() == {"network_active": True, "closed": 0}
            assert await _active(api)
            assert (await api.post("/v1/peers", json=back, headers=admin)).status == 200
            await _peer_count(api, 1)


async def test_a_node_can_start_with_network_activity_off(tmp_path: Path) -> None:
    async with live_api(tmp_path, listen=True, network_active=False) as api:
        assert not await _active(api)
        reply = await api.post(PATH, json={"active": True}, headers=api.admin)
        assert reply.json() == {"network_active": True, "closed": 0}
