"""Long polling of GET /v1/mining/template (BIP 22, as Core's getblocktemplate): an id whose tip
is gone answers at once; a current one waits for the next block and answers with a template on
it; nothing happening answers after the long-poll time; a stopping server answers pending long
polls; a malformed id is a 400.

No wall-clock thresholds: the long-poll time is set to an hour where a test shows that
something else ended the wait, and each wait has a deadline far below that hour."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.api import routes_mining
from tests.unit.node.test_api_support import LiveApi, live_api

DEADLINE = 60.0  # seconds: far below the hour a long poll would otherwise take
HOUR = 3600.0


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[LiveApi]:
    async with live_api(tmp_path) as live:
        await live.generate(3)
        yield live


async def test_a_stale_longpollid_answers_at_once(
    api: LiveApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes_mining, "LONGPOLL_SECONDS", HOUR)
    first = await api.get_json("/v1/mining/template")
    tip = (await api.get("/v1/blocks/tip/hash")).text
    assert first["longpollid"].startswith(tip) and first["previous_hash"] == tip
    await api.generate(1)
    fresh = await asyncio.wait_for(
        api.get_json(f"/v1/mining/template?longpollid={first['longpollid']}"), DEADLINE
    )
    assert fresh["height"] == first["height"] + 1
    assert fresh["longpollid"] != first["longpollid"]


async def test_a_current_longpollid_waits_for_the_next_block(
    api: LiveApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes_mining, "LONGPOLL_SECONDS", HOUR)
    first = await api.get_json("/v1/mining/template")
    waiting = asyncio.create_task(
        api.get_json(f"/v1/mining/template?longpollid={first['longpollid']}")
    )
    await asyncio.sleep(0.5)
    assert not waiting.done()  # nothing happened: still waiting
    [block_hash] = await api.generate(1)
    fresh = await asyncio.wait_for(waiting, DEADLINE)
    assert fresh["previous_hash"] == block_hash and fresh["height"] == first["height"] + 1


async def test_nothing_happening_answers_after_the_long_poll_time(
    api: LiveApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes_mining, "LONGPOLL_SECONDS", 0.3)
    first = await api.get_json("/v1/mining/template")
    started = time.monotonic()
    again = await asyncio.wait_for(
        api.get_json(f"/v1/mining/template?longpollid={first['longpollid']}"), DEADLINE
    )
    assert time.monotonic() - started >= 0.25  # it did wait
    assert again["previous_hash"] == first["previous_hash"]


async def test_a_malformed_longpollid_is_a_400(api: LiveApi) -> None:
    for bad in ("", "zz", "0" * 64, "0" * 64 + "x", "0" * 64 + "1" * 21, "A" * 64 + "1"):
        reply = await api.get("/v1/mining/template", params={"longpollid": bad})
        assert reply.status == 400 and reply.error_code == "bad_longpollid", bad


async def test_a_stopping_server_answers_pending_long_polls(
    api: LiveApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without that, the server's shutdown would wait out its grace period and then cut the
    request off (no 200)."""
    monkeypatch.setattr(routes_mining, "LONGPOLL_SECONDS", HOUR)
    first = await api.get_json("/v1/mining/template")
    waiting = asyncio.create_task(api.get(f"/v1/mining/template?longpollid={first['longpollid']}"))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    await asyncio.wait_for(api.server.aclose(), DEADLINE)
    reply = await asyncio.wait_for(waiting, DEADLINE)
    assert reply.status == 200 and reply.json()["previous_hash"] == first["previous_hash"]
