"""Long polling of GET /v1/mining/template (BIP 22, as Core's getblocktemplate): an id whose tip
is gone answers at once; a current one waits for the next block and answers with a template on
it; nothing happening answers after the long-poll time; a malformed id is a 400."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.api import routes_mining
from tests.unit.node.test_api_support import LiveApi, live_api


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[LiveApi]:
    async with live_api(tmp_path) as live:
        await live.generate(3)
        yield live


async def test_a_stale_longpollid_answers_at_once(api: LiveApi) -> None:
    first = await api.get_json("/v1/mining/template")
    tip = (await api.get("/v1/blocks/tip/hash")).text
    assert first["longpollid"].startswith(tip) and first["previous_hash"] == tip
    await api.generate(1)
    started = time.monotonic()
    fresh = await api.get_json(f"/v1/mining/template?longpollid={first['longpollid']}")
    assert time.monotonic() - started < 2
    assert fresh["height"] == first["height"] + 1
    assert fresh["longpollid"] != first["longpollid"]


async def test_a_current_longpollid_waits_for_the_next_block(api: LiveApi) -> None:
    first = await api.get_json("/v1/mining/template")
    waiting = asyncio.create_task(
        api.get_json(f"/v1/mining/template?longpollid={first['longpollid']}")
    )
    await asyncio.sleep(0.5)
    assert not waiting.done()
    started = time.monotonic()
    [block_hash] = await api.generate(1)
    fresh = await asyncio.wait_for(waiting, 10)
    assert time.monotonic() - started < 2
    assert fresh["previous_hash"] == block_hash and fresh["height"] == first["height"] + 1


async def test_nothing_happening_answers_after_the_long_poll_time(
    api: LiveApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes_mining, "LONGPOLL_SECONDS", 0.3)
    first = await api.get_json("/v1/mining/template")
    started = time.monotonic()
    again = await api.get_json(f"/v1/mining/template?longpollid={first['longpollid']}")
    assert 0.25 < time.monotonic() - started < 5
    assert again["previous_hash"] == first["previous_hash"]


async def test_a_malformed_longpollid_is_a_400(api: LiveApi) -> None:
    for bad in ("", "zz", "0" * 64, "0" * 64 + "x", "0" * 64 + "1" * 21, "A" * 64 + "1"):
        reply = await api.get("/v1/mining/template", params={"longpollid": bad})
        assert reply.status == 400 and reply.error_code == "bad_longpollid", bad


async def test_a_pending_long_poll_does_not_hold_up_the_shutdown(api: LiveApi) -> None:
    first = await api.get_json("/v1/mining/template")
    waiting = asyncio.create_task(api.get(f"/v1/mining/template?longpollid={first['longpollid']}"))
    await asyncio.sleep(0.3)
    started = time.monotonic()
    await api.server.aclose()
    assert time.monotonic() - started < 2  # not the 5 s grace period, nor the 20 s poll
    reply = await asyncio.wait_for(waiting, 5)
    assert reply.status == 200 and reply.json()["previous_hash"] == first["previous_hash"]
