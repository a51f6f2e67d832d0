"""``GET /v1/peers/addresses`` (Core's ``getnodeaddresses``): a random sample of the address
book's good addresses, ``count`` of them (0: all), never the terrible ones; the route does not
shadow ``DELETE /v1/peers/{address}``."""

from __future__ import annotations

import time
from pathlib import Path

from p2p.addrbook import HORIZON
from tests.unit.node.test_api_support import live_api


async def test_known_addresses_from_the_address_book(tmp_path: Path) -> None:
    async with live_api(tmp_path, listen=True) as api:
        assert await api.get_json("/v1/peers/addresses?count=0") == []
        manager = api.node.connmgr
        assert manager is not None and manager.addrbook is not None
        book = manager.addrbook
        now = int(time.time())
        good = {f"10.0.0.{i}:8733" for i in range(1, 6)}
        for address in sorted(good):
            assert book.add(address, 1, now - 60)
        assert book.add("10.0.1.1:8733", 1, now - HORIZON - 3600)  # too old: terrible

        every = await api.get_json("/v1/peers/addresses?count=0")
        assert {a["address"] for a in every} == good
        assert all(a["services"] == 1 and a["last_seen"] == now - 60 for a in every)
        assert len(await api.get_json("/v1/peers/addresses")) == 1  # Core's default count
        two = await api.get_json("/v1/peers/addresses?count=2")
        assert len(two) == 2 and {a["address"] for a in two} <= good
        assert len(await api.get_json("/v1/peers/addresses?count=2500")) == 5

        for query in ("count=2501", "count=-1", "count=x"):
            reply = await api.get(f"/v1/peers/addresses?{query}")
            assert (reply.status, reply.error_code) == (400, "bad_count"), query
        reply = await api.request("DELETE", "/v1/peers/addresses", headers=api.admin)
        assert (reply.status, reply.error_code) == (404, "peer_not_found")
