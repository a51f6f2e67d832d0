"""Inbound eviction (Core's SelectNodeToEvict): which peer gives up its slot, and a full
connection manager that takes a newcomer by evicting its newest unprotected peer."""

from __future__ import annotations

import hashlib

import pytest
from p2p_testkit import manager, wait_until

from p2p import eviction
from p2p.eviction import EvictionCandidate, netgroup, select_for_eviction


def rank(group: bytes) -> int:
    return int.from_bytes(hashlib.sha256(b"key" + group).digest()[:8], "big")


def candidate(
    n: int,
    group: bytes,
    *,
    min_ping: float | None = 0.05,
    last_tx_at: float | None = None,
    last_block_at: float | None = None,
) -> EvictionCandidate:
    return EvictionCandidate(n, group, float(n), min_ping, last_tx_at, last_block_at)


def test_network_groups() -> None:
    assert netgroup("10.1.2.3") == netgroup("10.1.200.7") != netgroup("10.2.0.1")
    assert netgroup("::ffff:10.1.9.9") == netgroup("10.1.2.3")
    assert netgroup("[2001:db8:1:2::1]") == netgroup("2001:db8:ffff::9") != netgroup("2001:db9::")
    assert netgroup("Seed.Example") == netgroup("seed.example") == b"name:seed.example"


def test_an_attackers_newest_peer_goes_first() -> None:
    honest = [candidate(n, bytes([n])) for n in range(20)]  # 20 groups, connected first
    attacker = [candidate(100 + n, b"\xee") for n in range(12)]  # one group, newer
    chosen = select_for_eviction(honest + attacker, rank)
    assert chosen is not None and chosen.netgroup == b"\xee" and chosen.key == 111


def test_protected_peers_are_never_chosen() -> None:
    fast = candidate(50, b"\x01", min_ping=0.001)
    relaying = candidate(51, b"\x01", last_tx_at=1000.0)
    miner = candidate(52, b"\x01", last_block_at=1000.0)
    crowd = [candidate(60 + n, b"\x01", min_ping=0.5) for n in range(30)]
    everyone = [fast, relaying, miner, *crowd]
    for _ in range(10):  # evicting one at a time, the protected three stay to the end
        chosen = select_for_eviction(everyone, rank)
        assert chosen is not None and chosen not in (fast, relaying, miner)
        everyone.remove(chosen)
        if len(everyone) <= 20:
            break
    few = [candidate(n, bytes([n])) for n in range(4)]  # all protected: refuse the newcomer
    assert select_for_eviction(few, rank) is None
    assert select_for_eviction([], rank) is None


async def test_a_full_manager_evicts_its_newest_peer_for_a_newcomer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("PROTECT_BY_NETGROUP", "PROTECT_BY_PING", "PROTECT_BY_TX", "PROTECT_BY_BLOCK"):
        monkeypatch.setattr(eviction, name, 0)  # two peers are too few for Core's protections
    evictions: list[None] = []
    counted = manager(max_inbound=2, on_eviction=lambda: evictions.append(None))
    async with counted as server, manager() as a, manager() as b, manager() as c:
        address = f"127.0.0.1:{server.port}"
        await a.connect(address)
        await wait_until(lambda: server.inbound_count == 1)
        await b.connect(address)
        await wait_until(lambda: len(server.peers()) == 2)
        await c.connect(address)  # full: b, the newest of the only group, makes room
        await wait_until(lambda: b.peers() == [] and len(c.peers()) == 1)
        assert len(a.peers()) == 1 and server.inbound_count == 2
        assert len(evictions) == 1  # what the node's metrics count
