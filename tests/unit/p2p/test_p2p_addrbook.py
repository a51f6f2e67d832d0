"""The address book: persistence, corruption, bounds, gossip and the addr rate limit."""

from __future__ import annotations

import json
from pathlib import Path

from p2p_testkit import FakeClock
from structlog.testing import capture_logs

from p2p import AddrEntry, AddressBook, AddrRateLimiter

DAY = 24 * 60 * 60


def test_persistence_survives_reopen(tmp_path: Path) -> None:
    clock = FakeClock()
    book = AddressBook(tmp_path, clock=clock)
    assert book.add("10.0.0.1:8733", 1) and book.add("[2001:db8::1]:8733", 1)
    assert not book.add("10.0.0.1:8733", 4)  # a refresh merges services
    book.mark_attempt("10.0.0.1:8733")
    book.mark_success("[2001:db8::1]:8733", 1)
    book.save()
    assert not book.dirty
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed into place

    again = AddressBook(tmp_path, clock=clock)
    assert sorted(again.addresses()) == ["10.0.0.1:8733", "[2001:db8::1]:8733"]
    first = again.get("10.0.0.1:8733")
    assert first is not None and first.services == 5 and first.attempts == 1
    second = again.get("[2001:db8::1]:8733")
    assert second is not None and second.last_success == int(clock.now)


async def test_async_save(tmp_path: Path) -> None:
    book = AddressBook(tmp_path)
    book.add("10.0.0.1:8733")
    await book.save_async()
    assert AddressBook(tmp_path).addresses() == ["10.0.0.1:8733"]


def test_corrupted_file_starts_empty_and_is_kept_aside(tmp_path: Path) -> None:
    (tmp_path / "peers.json").write_text("{not json")
    with capture_logs() as logs:
        book = AddressBook(tmp_path)
    assert len(book) == 0
    assert [e["event"] for e in logs] == ["addrbook_corrupt"]
    assert logs[0]["log_level"] == "warning"
    assert (tmp_path / "peers.json.corrupt").read_text() == "{not json"
    book.add("10.0.0.1:8733")
    book.save()
    assert AddressBook(tmp_path).addresses() == ["10.0.0.1:8733"]


def test_wrong_shape_is_corrupt_too(tmp_path: Path) -> None:
    for document in (
        {"version": 99, "addresses": []},
        {"version": 1, "addresses": [{"address": "nonsense"}]},
        {"version": 1, "addresses": [{"address": "10.0.0.1:1", "services": -1}]},
        {"version": 1, "addresses": [{"address": "10.0.0.1:1", "bogus": 1}]},
        [1, 2, 3],
    ):
        (tmp_path / "peers.json").write_text(json.dumps(document))
        assert len(AddressBook(tmp_path)) == 0


def test_bounded_size_drops_the_least_recently_updated(tmp_path: Path) -> None:
    clock = FakeClock()
    book = AddressBook(tmp_path, max_size=3, clock=clock)
    for i in range(3):
        book.add(f"10.0.0.{i}:1")
    clock.now += 10
    book.add("10.0.0.0:1")  # seen again: now the most recently updated
    book.add("10.0.0.9:1")
    assert sorted(book.addresses()) == ["10.0.0.0:1", "10.0.0.2:1", "10.0.0.9:1"]


def test_refuses_bad_addresses_and_ages_gossip(tmp_path: Path) -> None:
    clock = FakeClock()
    book = AddressBook(tmp_path, clock=clock)
    assert not book.add("10.0.0.1")  # no port
    assert not book.add("[::ffff:10.0.0.1]:1")  # not canonical
    now = int(clock.now)
    learned = book.add_gossip(
        [AddrEntry("10.0.0.1:1", 1, now + 3600), AddrEntry("10.0.0.2:1", 1, now)]
    )
    assert learned == 2
    far_future = book.get("10.0.0.1:1")
    assert far_future is not None and far_future.last_seen < now - 4 * DAY
    recent = book.get("10.0.0.2:1")
    assert recent is not None and recent.last_seen == now - 2 * 3600


def test_getaddr_answer_is_capped_and_skips_terrible(tmp_path: Path) -> None:
    clock = FakeClock()
    book = AddressBook(tmp_path, clock=clock)
    for i in range(2000):
        book.add(f"10.{i // 250}.{i % 250}.1:1")
    book.add("10.200.0.1:1", last_seen=int(clock.now) - 40 * DAY)  # stale: terrible
    answer = book.getaddr_answer()
    assert len(answer) == 2000 * 23 // 100
    assert len({e.address for e in answer}) == len(answer)
    assert "10.200.0.1:1" not in {e.address for e in answer}
    assert len(book.getaddr_answer(limit=10)) == 10


def test_select_prefers_working_and_skips_recent_attempts(tmp_path: Path) -> None:
    clock = FakeClock()
    book = AddressBook(tmp_path, clock=clock)
    for i in range(5):
        book.add(f"10.0.0.{i}:1")
    book.mark_success("10.0.0.3:1")
    book.mark_attempt("10.0.0.4:1")
    chosen = book.select(10, exclude=["10.0.0.0:1"])
    assert chosen[0] == "10.0.0.3:1"
    assert "10.0.0.0:1" not in chosen and "10.0.0.4:1" not in chosen  # tried just now
    clock.now += 3600
    assert "10.0.0.4:1" in book.select(10)
    for _ in range(3):
        book.mark_attempt("10.0.0.1:1")
    clock.now += 3600
    assert "10.0.0.1:1" not in book.select(10)  # three failures, never a success: terrible


def test_rate_limiter() -> None:
    clock = FakeClock(0)
    limiter = AddrRateLimiter(clock=clock)
    assert limiter.take(1000) == 1  # starts with one token
    clock.now += 100  # 0.1 a second
    assert limiter.take(1000) == 10
    limiter.grant(1000)  # we asked getaddr
    assert limiter.take(5000) == 1000
    clock.now += 1_000_000
    assert limiter.take(5000) == 1000  # the bucket never banks more than 1,000
