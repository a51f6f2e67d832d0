"""Request deadlines (``node.api.deadlines``): one sweeper cancels the requests past theirs and
the middleware answers 503 ``timeout``; a cancellation from elsewhere is not taken for one."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import pytest

from node.api.deadlines import Deadlines
from tests.unit.node.test_api_support import UNLIMITED, live_api


async def test_the_sweeper_cancels_only_what_is_past_its_deadline() -> None:
    deadlines = Deadlines(resolution=0.01)
    loop = asyncio.get_running_loop()
    sweeper = asyncio.create_task(deadlines.run())
    outcomes: dict[str, str] = {}

    async def request(name: str, seconds: float, work: float) -> None:
        task = asyncio.current_task()
        assert task is not None
        deadlines.add(task, loop.time() + seconds)
        try:
            await asyncio.sleep(work)
            outcomes[name] = "done"
        except asyncio.CancelledError:
            if not deadlines.expired(task):
                outcomes[name] = "cancelled"
                raise
            outcomes[name] = "timed out"
        finally:
            deadlines.discard(task)

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(request("slow", 0.05, 10))
            group.create_task(request("quick", 5, 0.01))
            other = group.create_task(request("elsewhere", 5, 10))
            await asyncio.sleep(0.02)
            other.cancel()  # e.g. the client went away: not a deadline
        assert outcomes == {"slow": "timed out", "quick": "done", "elsewhere": "cancelled"}
        assert len(deadlines) == 0
    finally:
        sweeper.cancel()


def test_sweep_cancels_each_late_task_once() -> None:
    async def scenario() -> None:
        deadlines = Deadlines()
        waiter = asyncio.create_task(asyncio.sleep(10))
        deadlines.add(waiter, 1.0)
        assert deadlines.sweep(0.5) == 0 and not waiter.cancelling()
        assert deadlines.sweep(1.0) == 1 and waiter.cancelling() == 1
        assert deadlines.sweep(2.0) == 0  # gone from the table
        assert deadlines.expired(waiter) and waiter.cancelling() == 0
        assert not deadlines.expired(waiter)  # asked once
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter

    asyncio.run(scenario())


async def test_a_request_past_its_deadline_gets_503_timeout(tmp_path: Path) -> None:
    settings = dataclasses.replace(UNLIMITED, request_timeout=0.5)
    async with live_api(tmp_path, settings) as api:
        busy = asyncio.create_task(api.node.call(time.sleep, 2.0))  # the chain thread is busy
        await asyncio.sleep(0.05)
        started = time.monotonic()
        reply = await api.get("/v1/chain")  # needs the chain thread
        waited = time.monotonic() - started
        assert (reply.status, reply.error_code) == (503, "timeout"), reply.text
        assert reply.headers["Retry-After"] == "1"
        assert 0.5 <= waited < 1.5
        assert len(api.server.context.deadlines) == 0
        await busy
        assert (await api.get("/v1/chain")).status == 200  # the node carries on
