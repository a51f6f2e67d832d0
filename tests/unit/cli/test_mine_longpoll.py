"""``seedchain mine`` leaves a template when the node's tip moves: by long polling the template
(BIP 22) when the node gives a longpollid, else by polling the tip; and at the refresh time in
either case."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

from seedchain.cmd_mine import Template, _tip_moved

OLD, NEW = "aa" * 32, "bb" * 32


def _template(longpollid: str | None) -> Template:
    return Template(1, OLD, b"\x00" * 81, 1, 0, 0, 1, 0, "rsc1addr", longpollid)


class FakeNode:
    def __init__(self, answers: list[dict[str, Any]], tips: list[str]) -> None:
        self.answers = answers
        self.tips = tips
        self.long_polls: list[tuple[str, str | None]] = []
        self.tip_asks = 0

    async def mining_template(self, address: str, longpollid: str | None = None) -> dict[str, Any]:
        self.long_polls.append((address, longpollid))
        if not self.answers:
            await asyncio.sleep(3600)  # a node whose tip never moves
        await asyncio.sleep(0.01)
        return self.answers.pop(0)

    async def tip_hash(self) -> str:
        self.tip_asks += 1
        return self.tips.pop(0) if len(self.tips) > 1 else self.tips[0]


async def test_long_poll_until_the_tip_moves() -> None:
    node = FakeNode(
        [{"previous_hash": OLD, "longpollid": OLD + "7"}, {"previous_hash": NEW}], [OLD]
    )
    await asyncio.wait_for(_tip_moved(cast(Any, node), _template(OLD + "5"), 3600, 3600), 60)
    assert node.long_polls == [("rsc1addr", OLD + "5"), ("rsc1addr", OLD + "7")]
    assert node.tip_asks == 0


async def test_without_a_longpollid_the_tip_is_polled() -> None:
    node = FakeNode([], [OLD, OLD, NEW])
    await asyncio.wait_for(_tip_moved(cast(Any, node), _template(None), 0.01, 3600), 60)
    assert node.tip_asks == 3 and node.long_polls == []


async def test_the_refresh_time_ends_a_long_poll() -> None:
    node = FakeNode([], [OLD])
    started = time.monotonic()
    await asyncio.wait_for(_tip_moved(cast(Any, node), _template(OLD + "5"), 3600, 0.2), 60)
    assert time.monotonic() - started >= 0.15  # it waited for the refresh time
