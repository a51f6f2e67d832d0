"""Stall detection during block download (``NetSync.check_stalls``), Bitcoin Core's way: only
the peer holding the first missing block is dropped, never the last peer that can serve it,
and every drop doubles the timeout, which shrinks again as blocks arrive."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from node.chain import ChainState
from node.netstall import MAX_STALL_FACTOR
from node.netsync import NetSync, PeerSync
from tests.framework.factory import ChainBuilder

TIMEOUT = 5.0


@dataclass(eq=False)
class FakePeer:
    address: str
    connected: bool = True
    closed: list[Any] = field(default_factory=list)

    def close(self, reason: Any) -> None:
        self.closed.append(reason)
        self.connected = False


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup(tmp_path: Path) -> Any:
    builder = ChainBuilder()
    builder.mine(40)
    chain = ChainState.open(tmp_path, builder.params)
    entries = chain.accept_headers([b.header for b in builder.blocks[1:]], 2_000_000_000)
    node = SimpleNamespace(chain=chain, params=builder.params)
    clock = Clock()
    sync = NetSync(node, stall_timeout=TIMEOUT, clock=clock)  # type: ignore[arg-type]
    sync._note_best_header(entries[-1])
    yield sync, clock, entries
    chain.close()


def add_peer(sync: NetSync, name: str, best: Any) -> PeerSync:
    peer = FakePeer(name)
    state = PeerSync(peer, best=best)  # type: ignore[arg-type]
    sync.peers[peer] = state  # type: ignore[index]
    return state


def ask(sync: NetSync, state: PeerSync, entries: list[Any], at: float) -> None:
    for entry in entries:
        sync.in_flight[entry.hash] = state
        state.in_flight[entry.hash] = at


async def test_only_the_peer_holding_the_first_missing_block_is_dropped(setup: Any) -> None:
    sync, clock, entries = setup
    first = add_peer(sync, "a", entries[-1])
    second = add_peer(sync, "b", entries[-1])
    ask(sync, first, entries[0:16], clock.now)
    ask(sync, second, entries[16:32], clock.now)
    clock.now += TIMEOUT + 1
    await sync.check_stalls()
    assert first.peer.closed and first.peer.closed[0].code == "stalling"  # type: ignore[attr-defined]
    assert not second.peer.closed  # type: ignore[attr-defined]
    assert sync.stall_factor == 2.0


async def test_the_last_peer_that_can_serve_is_kept(setup: Any) -> None:
    sync, clock, entries = setup
    only = add_peer(sync, "a", entries[-1])
    ask(sync, only, entries[0:16], clock.now)
    clock.now += 10 * TIMEOUT
    await sync.check_stalls()
    assert not only.peer.closed  # type: ignore[attr-defined]


async def test_no_drop_before_the_timeout_or_while_the_tip_moves(setup: Any) -> None:
    sync, clock, entries = setup
    first = add_peer(sync, "a", entries[-1])
    add_peer(sync, "b", entries[-1])
    ask(sync, first, entries[0:16], clock.now)
    clock.now += TIMEOUT - 1
    await sync.check_stalls()
    sync.last_tip_change = clock.now  # a block connected just now
    clock.now += 2
    await sync.check_stalls()
    assert not first.peer.closed  # type: ignore[attr-defined]


async def test_timeout_grows_per_drop_and_is_capped(setup: Any) -> None:
    sync, clock, entries = setup
    backup = add_peer(sync, "backup", entries[-1])
    drops = 0
    while sync.stall_factor < MAX_STALL_FACTOR:
        state = add_peer(sync, f"slow{drops}", entries[-1])
        ask(sync, state, entries[0:1], clock.now)
        clock.now += TIMEOUT * sync.stall_factor - 0.5
        await sync.check_stalls()
        assert not state.peer.closed  # type: ignore[attr-defined]
        clock.now += 1
        await sync.check_stalls()
        assert state.peer.closed  # type: ignore[attr-defined]
        del sync.peers[state.peer]
        sync.in_flight.clear()
        drops += 1
    assert drops == 4 and sync.stall_factor == MAX_STALL_FACTOR
    assert not backup.peer.closed  # type: ignore[attr-defined]
