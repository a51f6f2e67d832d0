"""``GET /v1/ws``: blocks, reorgs and mempool entries pushed as they happen; subscriptions;
a client that falls behind, a bad message and a stopping node each close the socket."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.framework.util import wait_until
from tests.unit.node.test_api_reorg import fork_blocks, submit
from tests.unit.node.test_api_support import ALICE, BOB, COIN, LiveApi, live_api, pay


async def receive(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    events = []
    for _ in range(count):
        message = await ws.receive(timeout=10)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        events.append(json.loads(message.data))
    return events


def connect(api: LiveApi) -> Any:
    return api.session.ws_connect(api.server.url + "/v1/ws")


async def test_blocks_txs_and_reorgs_are_pushed(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api, connect(api) as ws:
        hashes = await api.generate(101)
        events = await receive(ws, 101)
        assert events[-1] == {"event": "block", "hash": hashes[-1], "height": 101}
        assert [e["hash"] for e in events] == hashes

        tx = pay(await api.coinbase_at(1), ALICE, BOB, COIN)
        assert (await api.post_tx(tx)).status == 200
        assert await receive(ws, 1) == [{"event": "tx", "txid": tx.txid_hex}]

        # a reorg: the old tip leaves first, then the new branch arrives
        branch = await fork_blocks(api, 100, 2, b"ws")
        for block in branch:
            await submit(api, block)
        events = await receive(ws, 3)
        assert events[0] == {"event": "block_disconnected", "hash": hashes[-1], "height": 101}
        assert [(e["event"], e["hash"]) for e in events[1:]] == [
            ("block", block.hash_hex) for block in branch
        ]

        # only transactions from now on
        await ws.send_str(json.dumps({"subscribe": ["txs"]}))
        hub = api.server.context.events
        await wait_until(lambda: [s.topics for s in hub.subscribers] == [{"txs"}])
        await api.generate(1)
        spend = pay(await api.coinbase_at(2), ALICE, BOB, COIN)
        assert (await api.post_tx(spend)).status == 200
        assert await receive(ws, 1) == [{"event": "tx", "txid": spend.txid_hex}]


async def test_bad_clients_are_closed_and_the_node_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with live_api(tmp_path) as api:
        reply = await api.get("/v1/ws")  # no upgrade
        assert reply.status == 400 and reply.error_code == "not_websocket"

        for bad in ('{"subscribe": ["everything"]}', '{"subscribe": [["blocks"]]}',
                    "[" * 4000, "not json", '{"subscribe": []}'):  # fmt: skip
            async with connect(api) as ws:
                await ws.send_str(bad)
                message = await ws.receive(timeout=10)
                assert message.type == aiohttp.WSMsgType.CLOSE, bad
                assert message.data == aiohttp.WSCloseCode.UNSUPPORTED_DATA

        monkeypatch.setattr("node.api.events_hub.QUEUE_EVENTS", 3)
        async with connect(api) as slow:
            await wait_until(lambda: len(api.server.context.events.subscribers) == 1)
            # ten events in one go, more than its queue holds (as a burst of mempool entries)
            api.server.context.events.publish_txs([bytes([i]) * 32 for i in range(10)])
            messages = [await slow.receive(timeout=10) for _ in range(4)]
            kinds = [m.type for m in messages]
            assert aiohttp.WSMsgType.CLOSE in kinds
            close = messages[kinds.index(aiohttp.WSMsgType.CLOSE)]
            assert close.data == aiohttp.WSCloseCode.TRY_AGAIN_LATER

        async with connect(api) as ws:
            api.server.context.closing.set()  # what a stopping node does first
            message = await ws.receive(timeout=10)
            assert message.type == aiohttp.WSMsgType.CLOSE
            assert message.data == aiohttp.WSCloseCode.GOING_AWAY
        await wait_until(lambda: not api.server.context.events.subscribers)  # all let go
