"""The ban endpoints (admin): list, ban (dropping the connections it covers, refusing them
again), lift one, lift all, errors; the list is saved in banlist.json and read at the next
start."""

from __future__ import annotations

import asyncio
from pathlib import Path

from p2p.banlist import BANLIST_FILE
from tests.framework.util import wait_until
from tests.unit.node.test_api_support import LiveApi, live_api


async def _peer_count(api: LiveApi, want: int) -> None:
    async def counted() -> bool:
        return len(await api.get_json("/v1/peers")) == want

    await wait_until(counted, 30, message=f"{want} peer(s)")


async def test_ban_endpoints_need_the_admin_token(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        for method, path in (("GET", "/v1/bans"), ("POST", "/v1/bans"),
                             ("DELETE", "/v1/bans"), ("DELETE", "/v1/bans/1.2.3.4")):  # fmt: skip
            assert (await api.request(method, path)).status == 401
            bad = {"Authorization": "Bearer wrong"}
            assert (await api.request(method, path, headers=bad)).status == 403


async def test_ban_list_lift_and_errors(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        admin = api.admin
        assert (await api.request("GET", "/v1/bans", headers=admin)).json() == []
        reply = await api.post("/v1/bans", json={"subnet": "10.0.0.0/8", "seconds": 600},
                               headers=admin)  # fmt: skip
        assert reply.status == 200, reply.text
        ban = reply.json()
        assert ban["subnet"] == "10.0.0.0/8" and ban["ban_duration"] == 600
        assert ban["banned_until"] - ban["ban_created"] == 600 and ban["disconnected"] == 0
        reply = await api.post("/v1/bans", json={"subnet": "2001:db8::1"}, headers=admin)
        assert reply.json()["subnet"] == "2001:db8::1/128"
        assert reply.json()["ban_duration"] == 86_400  # Core's default bantime
        listed = (await api.request("GET", "/v1/bans", headers=admin)).json()
        assert [b["subnet"] for b in listed] == ["10.0.0.0/8", "2001:db8::1/128"]
        assert 0 < listed[0]["time_remaining"] <= 600

        for body, code in (
            ({"subnet": "10.0.0.1/8"}, "invalid_subnet"),  # host bits set
            ({"subnet": "example.com"}, "invalid_subnet"),
            ({"subnet": "x" * 65}, "invalid_subnet"),
            ({"subnet": "1.2.3.4", "seconds": 0}, "bad_field"),
            ({"subnet": "1.2.3.4", "seconds": "60"}, "bad_field"),
            ({"subnet": "1.2.3.4", "seconds": True}, "bad_field"),
            ({"seconds": 60}, "missing_field"),
        ):
            reply = await api.post("/v1/bans", json=body, headers=admin)
            assert reply.status == 400 and reply.error_code == code, (body, reply.text)

        reply = await api.request("DELETE", "/v1/bans/10.0.0.0/8", headers=admin)
        assert reply.status == 200 and reply.json() == {"subnet": "10.0.0.0/8", "removed": True}
        reply = await api.request("DELETE", "/v1/bans/10.0.0.0/8", headers=admin)
        assert reply.status == 404 and reply.error_code == "ban_not_found"
        reply = await api.request("DELETE", "/v1/bans/not-a-subnet", headers=admin)
        assert reply.status == 400 and reply.error_code == "invalid_subnet"
        reply = await api.request("DELETE", "/v1/bans", headers=admin)
        assert reply.json() == {"removed": 1}
        assert (await api.request("GET", "/v1/bans", headers=admin)).json() == []


async def test_a_ban_drops_the_peer_refuses_it_and_survives_a_restart(tmp_path: Path) -> None:
    async with live_api(tmp_path / "a", listen=True) as api:
        admin = api.admin
        async with live_api(tmp_path / "b", listen=True) as other:
            # other dials api: an inbound peer of api from 127.0.0.1
            connect = {"address": f"127.0.0.1:{api.node.p2p_port}"}
            reply = await other.post("/v1/peers", json=connect, headers=other.admin)
            assert reply.status == 200, reply.text
            await _peer_count(api, 1)
            reply = await api.post("/v1/bans", json={"subnet": "127.0.0.0/8"}, headers=admin)
            assert reply.status == 200 and reply.json()["disconnected"] == 1
            await _peer_count(api, 0)
            for _ in range(600):  # other's address-book dialler may be trying too (409)
                reply = await other.post("/v1/peers", json=connect, headers=other.admin)
                if reply.status != 409:
                    break
                await asyncio.sleep(0.05)
            assert reply.status == 502, reply.text  # refused: 403 on the upgrade
            await _peer_count(api, 0)
            assert api.node.connmgr is not None
            assert api.node.connmgr.banned.is_banned("127.0.0.1:1")
        assert (tmp_path / "a" / BANLIST_FILE).exists()
    async with live_api(tmp_path / "a", listen=True) as again:
        listed = (await again.request("GET", "/v1/bans", headers=again.admin)).json()
        assert [b["subnet"] for b in listed] == ["127.0.0.0/8"]
        reply = await again.request("DELETE", "/v1/bans/127.0.0.0/8", headers=again.admin)
        assert reply.status == 200
    async with live_api(tmp_path / "a", listen=True) as third:
        assert (await third.request("GET", "/v1/bans", headers=third.admin)).json() == []
