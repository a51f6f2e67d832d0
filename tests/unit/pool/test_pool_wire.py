"""Stratum byte orders and difficulty, against the examples in docs/pool.md and cpuminer's
own diff_to_target; and the vardiff controller."""

from __future__ import annotations

import pytest
from pool_testkit import diff_to_target

from consensus.hashing import hex_to_hash
from consensus.params import REGTEST
from pool.vardiff import Vardiff, VardiffConfig
from pool.wire import (
    DIFF1_TARGET,
    difficulty_json,
    difficulty_to_target,
    parse_u32_hex,
    prevhash_to_stratum,
    quantize_difficulty,
    stratum_to_prevhash,
    target_work,
    u32_hex,
)


def test_prevhash_word_order_example() -> None:
    shown = "2551f5a78907f4297d9ae4a300b94a71ec3347d5c9e6931d0580ab5e74c6cc5c"
    assert REGTEST.genesis.hash_hex == shown
    internal = hex_to_hash(shown)
    stratum = prevhash_to_stratum(internal)
    # the display hex with its 8-digit groups in reverse order
    groups = [shown[i : i + 8] for i in range(0, 64, 8)]
    assert stratum == "".join(reversed(groups))
    assert stratum == "74c6cc5c0580ab5ec9e6931dec3347d500b94a717d9ae4a38907f4292551f5a7"
    assert stratum_to_prevhash(stratum) == internal


def test_u32_hex() -> None:
    assert u32_hex(1) == "00000001"
    assert u32_hex(0x207FFFFF) == "207fffff"
    assert parse_u32_hex("DEADbeef") == 0xDEADBEEF
    for bad in ("123", "123456789", "zzzzzzzz", 5, None):
        with pytest.raises(ValueError):
            parse_u32_hex(bad)


@pytest.mark.parametrize("difficulty", [1.0, 2.0, 1024.0, 0.5, 2.0**-24, 3.0, 1e6])
def test_difficulty_matches_cpuminer(difficulty: float) -> None:
    ours = difficulty_to_target(difficulty)
    theirs = diff_to_target(difficulty)
    # cpuminer truncates to 64 bits of mantissa: never above ours, and within a hair of it
    assert theirs <= ours + (1 << 192)
    assert ours - theirs <= ours >> 40
    assert difficulty_to_target(1.0) == DIFF1_TARGET == 0x00000000FFFF << 208


def test_work_and_quantize() -> None:
    assert target_work(DIFF1_TARGET) == 2**256 // (DIFF1_TARGET + 1)
    assert 2**32 < target_work(DIFF1_TARGET) < 2**32 + 2**17
    assert quantize_difficulty(3.0) == 4.0 and quantize_difficulty(0.3) == 0.25
    assert difficulty_json(8.0) == 8 and difficulty_json(0.5) == 0.5
    with pytest.raises(ValueError):
        difficulty_to_target(0)


def test_vardiff_raises_for_fast_shares_and_eases_when_idle() -> None:
    config = VardiffConfig(
        initial_difficulty=1.0, target_interval=10.0, retarget_shares=8, retarget_time=30.0
    )
    vd = Vardiff(config, now=0.0)
    new = None
    for i in range(8):  # eight shares in 0.8 s at difficulty 1: ~100 times too many
        new = vd.on_share(1.0, now=0.1 * (i + 1))
    assert new == 64.0  # capped at max_step, a power of two
    assert vd.on_share(64.0, now=1.0) is None  # counting starts again
    # no shares for retarget_time: a quarter
    assert vd.check(now=40.0) == 16.0
    # on target: nothing changes (hysteresis)
    for i in range(8):
        assert vd.on_share(16.0, now=40.0 + 10 * (i + 1)) in (None,)


def test_vardiff_bounds_and_suggestion() -> None:
    config = VardiffConfig(initial_difficulty=1.0, min_difficulty=0.5, max_difficulty=4.0)
    vd = Vardiff(config, now=0.0)
    assert vd.suggest(1000.0, now=0.0) == 4.0
    assert vd.suggest(0.001, now=0.0) == 0.5
    vd.suggest(2.0, now=0.0)
    assert vd.check(now=1000.0) is None  # idle, but 2 is the miner's own floor
    with pytest.raises(ValueError):
        VardiffConfig(min_difficulty=2.0, max_difficulty=1.0)
    # below 2**-32 cpuminer's diff_to_target overflows its uint64 (0xFFFF0000 / d)
    with pytest.raises(ValueError):
        VardiffConfig(min_difficulty=2.0**-33)
    assert 0xFFFF0000 / VardiffConfig().min_difficulty < 2**64
    assert Vardiff(VardiffConfig(), now=0.0).suggest(1e-30, now=0.0) == 2.0**-32
