"""Addresses, known inventory, announcement batching, discouragement, backoff, send queue."""

from __future__ import annotations

import asyncio
import random

import pytest
from p2p_testkit import FakeClock

from p2p import (
    INV_BLOCK,
    INV_TX,
    AnnouncementQueue,
    Backoff,
    DiscouragedHosts,
    InvalidAddress,
    InvItem,
    KnownInventory,
    PeerDisconnected,
    batch_inventory,
    canonical_address,
    host_of,
    parse_address,
)
from p2p.sendqueue import SendQueue


def h(i: int) -> bytes:
    return i.to_bytes(32, "big")


# --- addresses ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("127.0.0.1:8733", "127.0.0.1:8733"),
        ("[::1]:8733", "[::1]:8733"),
        ("[2001:DB8:0:0::1]:1", "[2001:db8::1]:1"),
        ("[::ffff:10.0.0.1]:5", "10.0.0.1:5"),
        ("Node.Example.ORG:65535", "node.example.org:65535"),
    ],
)
def test_canonical_addresses(text: str, canonical: str) -> None:
    assert canonical_address(text) == canonical


@pytest.mark.parametrize(
    "text",
    ["", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "::1:80", "[::1", "[::1]x", "[1.2.3.4]:5",
     "host:port", "-bad-.com:1", "a b:1", "1.2.3.4:+5", "x" * 400 + ":1"],
)
def test_bad_addresses(text: str) -> None:
    with pytest.raises(InvalidAddress):
        parse_address(text)


def test_address_helpers() -> None:
    assert parse_address("example.com", default_port=8733).port == 8733
    with pytest.raises(InvalidAddress):
        parse_address("example.com:1", require_ip=True)
    assert host_of("[::1]:5") == "::1"
    assert host_of("10.1.2.3:4") == "10.1.2.3"


# --- inventory ------------------------------------------------------------------------------
def test_known_inventory_is_a_bounded_lru() -> None:
    known = KnownInventory(3)
    assert known.add(h(1)) and known.add(h(2)) and known.add(h(3))
    assert not known.add(h(1))  # refreshes h(1)
    known.add(h(4))  # evicts the least recently seen: h(2)
    assert h(2) not in known and h(1) in known and len(known) == 3


def test_filter_new_marks_known_and_drops_duplicates() -> None:
    known = KnownInventory()
    items = [InvItem(INV_TX, h(1)), InvItem(INV_TX, h(1)), InvItem(INV_BLOCK, h(2))]
    assert known.filter_new(items) == [items[0], items[2]]
    assert known.filter_new(items) == []


def test_batches() -> None:
    items = [InvItem(INV_TX, h(i)) for i in range(7)]
    batches = batch_inventory(items, 3)
    assert [len(b.items) for b in batches] == [3, 3, 1]
    assert [i for b in batches for i in b.items] == items
    assert batch_inventory([]) == []
    with pytest.raises(ValueError):
        batch_inventory(items, 0)


def test_announcement_queue() -> None:
    known = KnownInventory()
    known.add(h(0))
    queue = AnnouncementQueue(known, capacity=3)
    queue.push([InvItem(INV_TX, h(i)) for i in range(5)])  # h(0) known; h(1) evicted
    assert len(queue) == 3
    known.add(h(3))  # learned in the meantime
    (inv,) = queue.drain()
    assert [i.hash for i in inv.items] == [h(2), h(4)]
    assert queue.drain() == [] and h(4) in known


# --- discouragement -------------------------------------------------------------------------
def test_discouragement_expires_after_its_duration() -> None:
    clock = FakeClock()
    hosts = DiscouragedHosts(100, clock=clock)
    hosts.discourage("10.0.0.1:5555")
    assert hosts.is_discouraged("10.0.0.1:1")  # by host, any port
    assert hosts.is_discouraged("10.0.0.1")
    assert not hosts.is_discouraged("10.0.0.2:1")
    clock.now += 99
    assert hosts.is_discouraged("10.0.0.1:2")
    clock.now += 1
    assert not hosts.is_discouraged("10.0.0.1:2") and len(hosts) == 0


def test_discouragement_is_bounded() -> None:
    clock = FakeClock()
    hosts = DiscouragedHosts(100, capacity=2, clock=clock)
    for i in range(3):
        hosts.discourage(f"10.0.0.{i}:1")
        clock.now += 1
    assert len(hosts) == 2 and not hosts.is_discouraged("10.0.0.0:1")


# --- backoff --------------------------------------------------------------------------------
def test_backoff_doubles_to_the_cap_with_jitter_and_resets() -> None:
    backoff = Backoff(1.0, 8.0, random.Random(5))
    delays = [backoff.next_delay() for _ in range(6)]
    for delay, base in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert 0.8 * base <= delay <= 1.2 * base
    backoff.reset()
    assert backoff.next_delay() <= 1.2
    with pytest.raises(ValueError):
        Backoff(0, 1)


# --- send queue -----------------------------------------------------------------------------
async def test_send_queue_bounds_and_waits() -> None:
    queue = SendQueue(max_bytes=10, max_frames=2)
    await queue.put(b"x" * 30, "big")  # an empty queue takes any one frame
    assert not queue.try_put(b"y", "small")  # over the byte bound
    putter = asyncio.create_task(queue.put(b"y", "small"))
    await asyncio.sleep(0.01)
    assert not putter.done()
    assert await queue.get() == (b"x" * 30, "big")
    await asyncio.wait_for(putter, 1)
    assert queue.try_put(b"z", "small")
    assert not queue.try_put(b"w", "small")  # over the frame bound
    assert len(queue) == 2 and queue.queued_bytes == 2


async def test_send_queue_close_wakes_everyone() -> None:
    queue = SendQueue(max_bytes=1, max_frames=1)
    await queue.put(b"a", "a")
    putter = asyncio.create_task(queue.put(b"b", "b"))
    await asyncio.sleep(0.01)
    queue.close()
    with pytest.raises(PeerDisconnected):
        await putter
    assert await queue.get() == (b"a", "a")  # what was queued can still be drained
    with pytest.raises(PeerDisconnected):
        await queue.get()
    with pytest.raises(PeerDisconnected):
        queue.try_put(b"c", "c")
