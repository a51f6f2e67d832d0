"""The extra outbound peer tried while the tip looks stale (Bitcoin Core's
``CheckForStaleTipAndEvictPeers``): the connection manager's slot beyond ``max_outbound`` and the
eviction that follows; and the node's check that drives them (``node.staletip``)."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from p2p_testkit import manager, wait_until

from consensus.params import MAIN, REGTEST
from node.staletip import MIN_STALE_TIP_AGE, check_stale_tip, stale_tip_age
from p2p import AddressBook


async def test_a_stale_tip_gets_one_extra_outbound_peer_then_the_laziest_goes(
    tmp_path: Path,
) -> None:
    async with manager() as b, manager() as c:
        book = AddressBook(tmp_path / "a")
        for other in (b, c):
            book.add(f"127.0.0.1:{other.port}", 1)
        async with manager(
            addrbook=book, dial_from_addrbook=True, max_outbound=1, outbound_interval=0.05
        ) as a:
            await wait_until(lambda: len(a.peers()) == 1)
            states = [a.extra_outbound]
            assert a.evict_extra_outbound(time.monotonic() + 60) is None
            a.try_extra_outbound(True)  # the tip looks stale: one more
            await wait_until(lambda: len(a.peers()) == 2)
            states.append(a.extra_outbound)
            assert states == [False, True]
            assert a.evict_extra_outbound(time.monotonic() + 60) is None
            first, second = a.peers()
            first.stats.last_block_at = time.monotonic()  # the one that brought a block
            a.try_extra_outbound(False)  # the tip moved on
            assert a.evict_extra_outbound(time.monotonic()) is None  # both too young
            evicted = a.evict_extra_outbound(time.monotonic() + 60)
            assert evicted is second
            await wait_until(lambda: a.peers() == [first])
            assert second.disconnect_reason is not None
            assert second.disconnect_reason.code == "extra_outbound"
            await wait_until(lambda: b.inbound_count + c.inbound_count == 1)


def test_the_node_asks_for_the_extra_peer_only_while_the_tip_looks_stale() -> None:
    clock = [10_000.0]
    calls: list[Any] = []
    sync: Any = SimpleNamespace(
        clock=lambda: clock[0],
        last_tip_change=clock[0],
        in_flight={},
        chain=SimpleNamespace(tip=SimpleNamespace(height=7)),
    )
    connmgr: Any = SimpleNamespace(
        extra_outbound=False,
        try_extra_outbound=lambda wanted: calls.append(("try", wanted)),
        evict_extra_outbound=lambda now: calls.append(("evict", now)),
    )
    assert not check_stale_tip(sync, connmgr, 1.0, 1800)
    clock[0] += 1801
    assert check_stale_tip(sync, connmgr, 2.0, 1800)
    sync.in_flight = {b"x": None}  # a block on its way: not stale
    assert not check_stale_tip(sync, connmgr, 3.0, 1800)
    assert calls == [
        ("try", False), ("evict", 1.0), ("try", True), ("evict", 2.0), ("try", False),
        ("evict", 3.0),
    ]  # fmt: skip
    assert stale_tip_age(REGTEST) == MIN_STALE_TIP_AGE  # not 3 seconds
    assert stale_tip_age(MAIN) == max(3 * MAIN.spacing, MIN_STALE_TIP_AGE)
