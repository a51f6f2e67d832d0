"""The upload target's bookkeeping (``node.uploadtarget``, Core's ``-maxuploadtarget``): a 24-hour
cycle that starts with the first byte sent, the target, and the buffer that stops historical
block serving first."""

from __future__ import annotations

import pytest

from node.uploadtarget import HISTORICAL_BLOCK_AGE, TIMEFRAME, UploadTarget, is_historical

MIB = 1024 * 1024


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_no_target_never_limits() -> None:
    target = UploadTarget(0, MIB)
    target.record(10**12)
    assert not target.reached() and not target.reached(historical=True)
    assert target.status() == {
        "timeframe": TIMEFRAME,
        "target": 0,
        "target_reached": False,
        "serve_historical_blocks": True,
        "bytes_left_in_cycle": 0,
        "time_left_in_cycle": 0,
    }
    with pytest.raises(ValueError):
        UploadTarget(-1, MIB)


def test_the_cycle_the_target_and_the_historical_buffer() -> None:
    clock = Clock()
    target = UploadTarget(200 * MIB, MIB, clock)
    assert target.time_left() == TIMEFRAME  # no byte sent yet
    # 144 blocks of buffer for the whole day: historical blocks go while 56 MiB are left over
    assert not target.reached(historical=True)
    target.record(56 * MIB - 1)
    assert not target.reached(historical=True)
    target.record(1)
    assert target.reached(historical=True) and not target.reached()
    # the buffer shrinks as the cycle runs out: a day less 12 hours keeps 72 blocks
    clock.now += TIMEFRAME / 2
    assert target.time_left() == TIMEFRAME // 2 and not target.reached(historical=True)
    target.record(144 * MIB)
    status = target.status()
    assert status["target_reached"] and not status["serve_historical_blocks"]
    assert status["bytes_left_in_cycle"] == 0
    # a new cycle starts with the first byte after the old one ended
    clock.now += TIMEFRAME / 2
    assert not target.reached() and target.status()["bytes_left_in_cycle"] == 200 * MIB
    target.record(10)
    assert target.sent_in_cycle == 10 and target.time_left() == TIMEFRAME


def test_a_target_under_the_buffer_serves_no_historical_block() -> None:
    target = UploadTarget(100 * MIB, MIB, Clock())
    assert target.reached(historical=True) and not target.reached()


def test_the_observer_counts_what_is_sent_only() -> None:
    seen: list[tuple[str, str, int]] = []
    target = UploadTarget(10, MIB, Clock())
    observe = target.observer(lambda d, c, s: seen.append((d, c, s)))
    observe("in", "block", 1000)
    observe("out", "inv", 7)
    assert target.sent_in_cycle == 7 and len(seen) == 2
    observe("out", "block", 3)
    assert target.reached()


def test_without_a_target_the_hook_is_the_inner_one() -> None:
    def inner(direction: str, command: str, size: int) -> None:
        del direction, command, size

    assert UploadTarget(0, MIB).observer(inner) is inner  # no extra call per frame


def test_historical_means_older_than_a_week_than_the_tip() -> None:
    assert is_historical(0, HISTORICAL_BLOCK_AGE + 1)
    assert not is_historical(0, HISTORICAL_BLOCK_AGE)
