"""The extra outbound peer tried while the tip looks stale (Bitcoin Core's
``CheckForStaleTipAndEvictPeers``): the connection manager's slot beyond ``max_outbound`` and the
eviction that follows; the node's check that drives them; and outbound peers that lag behind
our tip (Core's ``ConsiderEviction``), all of ``node.staletip``."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from p2p_testkit import manager, wait_until

from consensus.params import MAIN, REGTEST
from node.staletip import (
    CHAIN_SYNC_TIMEOUT_SECONDS,
    HEADERS_RESPONSE_TIME,
    MAX_PROTECTED,
    MIN_STALE_TIP_AGE,
    ChainSyncWatch,
    check_stale_tip,
    stale_tip_age,
)
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


class FakePeer:
    def __init__(self, name: str) -> None:
        self.address = name
        self.closed: Any = None

    def close(self, reason: Any = None) -> None:
        self.closed = reason


async def test_outbound_peers_that_lag_get_headers_asked_then_are_closed() -> None:
    """Core's ConsiderEviction: 20 minutes behind our tip, then a getheaders, then 2 minutes."""
    asked: list[str] = []

    async def request_headers(peer: Any) -> None:
        asked.append(peer.address)

    fakes: list[Any] = [FakePeer(n) for n in ("good", "lag", "catch", "none")]
    good, lagging, catching_up, silent = fakes

    def best(work: int | None) -> Any:
        return SimpleNamespace(best=None if work is None else SimpleNamespace(chainwork=work))

    tip = SimpleNamespace(chainwork=100)
    sync: Any = SimpleNamespace(
        chain=SimpleNamespace(tip=tip),
        peers={good: best(100), lagging: best(50), catching_up: best(60), silent: best(None)},
        request_headers=request_headers,
    )
    peers: Any = [good, lagging, catching_up, silent]
    watch = ChainSyncWatch()
    assert await watch.check(sync, peers, 0.0) == []
    assert watch.protected == {good} and set(watch.watches) == {lagging, catching_up, silent}
    assert await watch.check(sync, peers, CHAIN_SYNC_TIMEOUT_SECONDS - 1) == [] and asked == []
    assert await watch.check(sync, peers, CHAIN_SYNC_TIMEOUT_SECONDS) == []
    assert sorted(asked) == ["catch", "lag", "none"]  # headers asked of each, once
    sync.peers[catching_up] = best(100)  # it answered: as much work as our tip
    later = CHAIN_SYNC_TIMEOUT_SECONDS + HEADERS_RESPONSE_TIME
    closed = await watch.check(sync, peers, later)
    assert set(closed) == {lagging, silent} and catching_up in watch.protected
    assert lagging.closed.code == "chain_sync_timeout" and not lagging.closed.discourage
    assert good.closed is None and catching_up.closed is None and len(asked) == 3


async def test_a_peer_that_keeps_up_with_an_older_tip_gets_a_new_clock() -> None:
    peer: Any = FakePeer("p")
    tip = SimpleNamespace(chainwork=100)
    sync: Any = SimpleNamespace(
        chain=SimpleNamespace(tip=tip), peers={peer: None}, request_headers=None
    )
    sync.peers[peer] = SimpleNamespace(best=SimpleNamespace(chainwork=90))
    watch = ChainSyncWatch()
    await watch.check(sync, [peer], 0.0)
    assert watch.watches[peer].work == 100
    tip.chainwork = 150  # our tip moved on; the peer reached what we had
    sync.peers[peer].best.chainwork = 100
    await watch.check(sync, [peer], 1000.0)
    assert (watch.watches[peer].work, watch.watches[peer].deadline) == (
        150, 1000.0 + CHAIN_SYNC_TIMEOUT_SECONDS
    )  # fmt: skip
    many: Any = [FakePeer(str(i)) for i in range(6)]
    sync.peers = {p: SimpleNamespace(best=SimpleNamespace(chainwork=150)) for p in many}
    await watch.check(sync, many, 2000.0)
    assert len(watch.protected) == MAX_PROTECTED and not watch.watches  # gone peers forgotten
