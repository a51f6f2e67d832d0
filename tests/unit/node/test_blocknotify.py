"""``--block-notify``: the command runs with each new tip, not for the start-up tip, one at a
time without a backlog; a failing or hanging command is logged and never stops the node."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from structlog.testing import capture_logs

from node.blocknotify import BlockNotifier
from tests.framework.util import wait_until
from tests.unit.node.test_api_support import live_api


async def until(condition: Callable[[], bool]) -> None:
    await wait_until(condition, 20.0)


def lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


async def test_each_new_tip_runs_the_command(tmp_path: Path) -> None:
    out = tmp_path / "tips"
    async with live_api(tmp_path / "node", block_notify=f"echo %s >> {out}") as api:
        first = await api.generate(1)
        await until(lambda: lines(out) == first)  # the genesis tip at start-up was not news
        more = await api.generate(5)
        await until(lambda: lines(out)[-1:] == more[-1:])
        seen = lines(out)
        # newest tip last; tips that came while a command ran may be skipped, none repeated
        assert seen[0] == first[0] and len(set(seen)) == len(seen)
        order = first + more
        assert [order.index(h) for h in seen] == sorted(order.index(h) for h in seen)


async def test_failing_and_hanging_commands_are_logged_and_the_node_goes_on(
    tmp_path: Path,
) -> None:
    out = tmp_path / "after"
    async with live_api(tmp_path / "node") as api:
        failing = BlockNotifier(api.node, "exit 3")
        hanging = BlockNotifier(api.node, f"sleep 30; echo %s > {out}", timeout=0.3)
        tasks = [asyncio.create_task(n.run()) for n in (failing, hanging)]
        try:
            with capture_logs() as logs:
                await asyncio.sleep(0.2)  # both are waiting for a change
                await api.generate(1)
                await until(lambda: failing.runs == 1 and hanging.runs == 1)
                await until(lambda: sum(e["event"] == "block_notify_failed" for e in logs) == 2)
                await api.generate(1)  # and the next tip is notified again
                await until(lambda: hanging.runs == 2 and failing.runs == 2)
                await until(lambda: sum(e["event"] == "block_notify_failed" for e in logs) == 4)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        failures = [e for e in logs if e["event"] == "block_notify_failed"]
        assert {e.get("exit_code") for e in failures} >= {3}
        assert any("killed after 0.3 s" in str(e.get("error")) for e in failures)
        assert not out.exists()  # the hanging command's group was killed before it wrote
        assert (await api.get("/healthz")).status == 200
        metrics = (await api.get("/metrics")).text
        assert 'seedchain_block_notify_total{result="failed"} 2.0' in metrics
        assert 'seedchain_block_notify_total{result="killed"} 2.0' in metrics
