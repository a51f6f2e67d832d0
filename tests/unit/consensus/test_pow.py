"""Tests for consensus.pow: compact bits, proof of work, block work and aserti3-2d.

Vectors: Bitcoin Core's arith_uint256_tests (SetCompact/GetCompact), Bitcoin's genesis block,
Bitcoin Cash Node's aserti3-2d test vectors (data/asert_vectors.txt) and the cases of BCHN's
``calculate_asert_test`` / ``asert_activation_anchor_test`` unit tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consensus.errors import BadCompactBits, HighHash
from consensus.hashing import hex_to_hash, sha256d
from consensus.pow import (
    block_work,
    calculate_asert,
    check_proof_of_work,
    compact_to_target,
    decode_compact,
    difficulty,
    next_bits_asert,
    target_to_compact,
)

BTC_POW_LIMIT = (1 << 224) - 1  # Bitcoin's and Bitcoin Cash's powLimit, bits 0x1d00ffff
BCH_SPACING = 600
BCH_HALF_LIFE = 2 * 24 * 3600
BTC_GENESIS_HASH = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
BTC_GENESIS_HEADER = bytes.fromhex(
    "01000000"
    + "00" * 32
    + "3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a"
    + "29ab5f49"  # time 1231006505
    + "ffff001d"  # bits 0x1d00ffff
    + "1dac2b7c"  # nonce 2083236893
)


# --- compact encoding: Bitcoin Core arith_uint256_tests bignum_SetCompact -------------------
@pytest.mark.parametrize(
    ("bits", "target", "negative", "overflow", "compact"),
    [
        (0x00000000, 0, False, False, 0),
        (0x00123456, 0, False, False, 0),
        (0x01003456, 0, False, False, 0),
        (0x02000056, 0, False, False, 0),
        (0x03000000, 0, False, False, 0),
        (0x04000000, 0, False, False, 0),
        (0x00923456, 0, False, False, 0),
        (0x01803456, 0, False, False, 0),
        (0x02800056, 0, False, False, 0),
        (0x03800000, 0, False, False, 0),
        (0x04800000, 0, False, False, 0),
        (0x01123456, 0x12, False, False, 0x01120000),
        (0x01FEDCBA, 0x7E, True, False, 0x017E0000),
        (0x02123456, 0x1234, False, False, 0x02123400),
        (0x03123456, 0x123456, False, False, 0x03123456),
        (0x04123456, 0x12345600, False, False, 0x04123456),
        (0x04923456, 0x12345600, True, False, 0x04123456),
        (0x05009234, 0x92340000, False, False, 0x05009234),
        (0x20123456, 0x123456 << (8 * 29), False, False, 0x20123456),
    ],
)
def test_decode_compact_core_vectors(
    bits: int, target: int, negative: bool, overflow: bool, compact: int
) -> None:
    assert decode_compact(bits) == (target, negative, overflow)
    assert target_to_compact(target) == compact


def test_decode_compact_overflow() -> None:
    _, negative, overflow = decode_compact(0xFF123456)
    assert (negative, overflow) == (False, True)
    # The edges of the overflow rule: a one-byte mantissa fits at size 34, two bytes at 33,
    # three bytes at 32.
    assert decode_compact(0x220000FF)[2] is False
    assert decode_compact(0x22000001)[2] is False
    assert decode_compact(0x23000001)[2] is True
    assert decode_compact(0x21000100)[2] is False
    assert decode_compact(0x22000100)[2] is True
    assert decode_compact(0x20010000)[2] is False
    assert decode_compact(0x21010000)[2] is True


def test_get_compact_never_sets_sign_bit() -> None:
    # Core: "Make sure that we don't generate compacts with the 0x00800000 bit set"
    assert target_to_compact(0x80) == 0x02008000
    assert target_to_compact(0) == 0
    assert target_to_compact(1) == 0x01010000
    assert target_to_compact(BTC_POW_LIMIT) == 0x1D00FFFF


def test_compact_to_target_rejects_invalid_encodings() -> None:
    for bits in (0x04923456, 0x01FEDCBA, 0xFF123456, 0x23000001, 0, 0x01003456, 0x03000000):
        with pytest.raises(BadCompactBits):
            compact_to_target(bits)
    for bits in (-1, 1 << 32):
        with pytest.raises(BadCompactBits):
            compact_to_target(bits)
        with pytest.raises(ValueError):
            decode_compact(bits)
    with pytest.raises(ValueError):
        target_to_compact(1 << 256)


def test_bitcoin_genesis_bits() -> None:
    assert compact_to_target(0x1D00FFFF) == 0xFFFF << 208
    assert target_to_compact(0xFFFF << 208) == 0x1D00FFFF
    # 0x01010000 is the smallest target, 1; 0x207fffff is regtest's limit.
    assert compact_to_target(0x01010000) == 1
    assert compact_to_target(0x207FFFFF) == 0x7FFFFF << 232


@given(st.integers(min_value=1, max_value=(1 << 256) - 1))
def test_compact_round_trip_truncates_below_2_pow_minus_15(target: int) -> None:
    bits = target_to_compact(target)
    decoded = compact_to_target(bits)
    assert decoded <= target
    assert (target - decoded) << 15 < target
    assert target_to_compact(decoded) == bits  # normalised encodings round-trip exactly


@given(st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_valid_normalised_bits_round_trip(bits: int) -> None:
    target, negative, overflow = decode_compact(bits)
    if negative or overflow or target == 0:
        with pytest.raises(BadCompactBits):
            compact_to_target(bits)
        return
    assert compact_to_target(bits) == target
    assert decode_compact(target_to_compact(target)) == (target, False, False)


# --- proof of work ------------------------------------------------------------------------
def test_bitcoin_genesis_passes_proof_of_work() -> None:
    block_hash = sha256d(BTC_GENESIS_HEADER)
    assert block_hash == hex_to_hash(BTC_GENESIS_HASH)
    check_proof_of_work(block_hash, 0x1D00FFFF, BTC_POW_LIMIT)


def test_mutated_genesis_hash_is_high_hash() -> None:
    mutated = bytearray(hex_to_hash(BTC_GENESIS_HASH))
    mutated[-4] ^= 0x01  # internal byte order: byte 28 is above the target's top byte (27)
    with pytest.raises(HighHash):
        check_proof_of_work(bytes(mutated), 0x1D00FFFF, BTC_POW_LIMIT)
    mutated_header = bytearray(BTC_GENESIS_HEADER)
    mutated_header[-1] ^= 1  # another nonce: almost surely above the target
    with pytest.raises(HighHash):
        check_proof_of_work(sha256d(bytes(mutated_header)), 0x1D00FFFF, BTC_POW_LIMIT)


def test_proof_of_work_boundaries() -> None:
    target = compact_to_target(0x1D00FFFF)
    check_proof_of_work(target.to_bytes(32, "little"), 0x1D00FFFF, BTC_POW_LIMIT)
    with pytest.raises(HighHash):
        check_proof_of_work((target + 1).to_bytes(32, "little"), 0x1D00FFFF, BTC_POW_LIMIT)
    zero_hash = bytes(32)
    with pytest.raises(BadCompactBits):  # target above the limit
        check_proof_of_work(zero_hash, 0x1D010000, BTC_POW_LIMIT)
    for bits in (0x04923456, 0xFF123456, 0x01003456):  # negative, overflow, zero
        with pytest.raises(BadCompactBits):
            check_proof_of_work(zero_hash, bits, BTC_POW_LIMIT)
    with pytest.raises(ValueError):
        check_proof_of_work(bytes(31), 0x1D00FFFF, BTC_POW_LIMIT)


def test_block_work_matches_get_block_proof() -> None:
    assert block_work(0x1D00FFFF) == 0x100010001  # Bitcoin's genesis chainwork
    assert block_work(0x207FFFFF) == 2  # regtest
    assert block_work(0x01010000) == 1 << 255  # target 1
    target = compact_to_target(0x1B0404CB)
    assert block_work(0x1B0404CB) == ((1 << 256) - 1 - target) // (target + 1) + 1
    with pytest.raises(BadCompactBits):
        block_work(0x04923456)


def test_difficulty_for_display() -> None:
    assert difficulty(0x1D00FFFF, 0x1D00FFFF) == 1.0
    assert difficulty(0x1B0404CB, 0x1D00FFFF) == pytest.approx(16307.420938523983)
    assert difficulty(0x1C7FFF80, 0x1D00FFFF) == pytest.approx(2.0, rel=1e-4)


# --- aserti3-2d: BCHN test vectors ------------------------------------------------------------
@dataclass
class AsertRun:
    description: str
    anchor_height: int = 0
    anchor_ancestor_time: int = 0
    anchor_bits: int = 0
    lines: list[tuple[int, int, int, int]] = field(default_factory=list)


def _load_asert_runs() -> list[AsertRun]:
    runs: list[AsertRun] = []
    path = Path(__file__).parent / "data" / "asert_vectors.txt"
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("## description:"):
            runs.append(AsertRun(line.removeprefix("## description:").strip()))
        elif line.startswith("##"):
            key, value = (part.strip() for part in line[2:].split(":"))
            setattr(runs[-1], key.replace(" ", "_").replace("nBits", "bits"), int(value, 0))
        elif line and not line.startswith("#"):
            iteration, height, time, bits = (int(x, 0) for x in line.split())
            runs[-1].lines.append((iteration, height, time, bits))
    return runs


ASERT_RUNS = _load_asert_runs()


def test_asert_vector_file_covers_enough() -> None:
    assert len(ASERT_RUNS) == 10
    assert sum(len(run.lines) for run in ASERT_RUNS) >= 600


@pytest.mark.parametrize("run", ASERT_RUNS, ids=[r.description.split(" ")[0] for r in ASERT_RUNS])
def test_calculate_asert_reproduces_bchn_vectors(run: AsertRun) -> None:
    ref_target = compact_to_target(run.anchor_bits)
    mismatches = []
    for iteration, height, time, bits in run.lines:
        target = calculate_asert(
            ref_target,
            BCH_SPACING,
            time - run.anchor_ancestor_time,
            height - run.anchor_height,
            BTC_POW_LIMIT,
            BCH_HALF_LIFE,
        )
        # The same line through next_bits_asert: the anchor's time is its ancestor's + spacing.
        via_next_bits = next_bits_asert(
            anchor_bits=run.anchor_bits,
            anchor_time=run.anchor_ancestor_time + BCH_SPACING,
            anchor_height=run.anchor_height,
            parent_time=time,
            parent_height=height,
            spacing=BCH_SPACING,
            half_life=BCH_HALF_LIFE,
            pow_limit=BTC_POW_LIMIT,
        )
        if target_to_compact(target) != bits or via_next_bits != bits:
            mismatches.append((iteration, hex(target_to_compact(target)), hex(bits)))
    assert mismatches == []


def test_asert_vectors_reach_both_clamps() -> None:
    final_bits = {run.lines[-1][3] for run in ASERT_RUNS}
    assert 0x1D00FFFF in final_bits  # clamped at pow_limit (run4, run8)
    assert 0x01010000 in final_bits  # clamped at a target of 1 (run5)


# --- aserti3-2d: BCHN's calculate_asert_test ------------------------------------------------
PARENT_TIME_DIFF = 600  # BCHN: the reference block's parent is ideally spaced before it


def _asert(ref: int, time_diff: int, height_diff: int) -> int:
    return calculate_asert(
        ref, BCH_SPACING, PARENT_TIME_DIFF + time_diff, height_diff, BTC_POW_LIMIT, BCH_HALF_LIFE
    )


def test_bchn_calculate_asert_steps() -> None:
    initial = BTC_POW_LIMIT >> 4
    assert _asert(initial, 600, 1) == initial  # steady
    fast = _asert(initial, 600 + 300, 2)
    assert fast < initial  # a block in half the time
    restored = _asert(initial, 600 + 300 + 900, 3)
    assert restored > fast
    assert restored == initial  # the next block makes up for it
    doubled = _asert(restored, 288 * 1200, 288)
    assert doubled == restored * 2  # two days behind schedule doubles the target
    halved = _asert(doubled, 0, 288)
    assert halved == doubled // 2 == initial  # two days ahead halves it
    limit_bits = target_to_compact(BTC_POW_LIMIT)
    target = halved
    for _ in range(3):  # ramp up to the limit: four doublings
        previous, target = target, _asert(target, 288 * 1200, 288)
        assert target == previous * 2
        assert target < BTC_POW_LIMIT
        assert target_to_compact(target) != limit_bits
    previous, target = target, _asert(target, 288 * 1200, 288)
    assert target == previous * 2
    assert target_to_compact(target) == limit_bits
    # 512 days ahead would overflow 256 bits without the overflow check.
    assert target_to_compact(_asert(previous, 512 * 144 * 600, 0)) == limit_bits
    # ~446 days behind schedule brings the limit down to the minimum target, 1.
    bottom = calculate_asert(
        BTC_POW_LIMIT, BCH_SPACING, 0, 2 * (256 - 33) * 144, BTC_POW_LIMIT, BCH_HALF_LIFE
    )
    assert target_to_compact(bottom) == target_to_compact(1)


SINGLE_300_TARGET = int("00000000ffb1ffffffffffffffffffffffffffffffffffffffffffffffffffff", 16)
FUNNY_REF_TARGET = int("000000008000000000000000000fffffffffffffffffffffffffffffffffffff", 16)


@pytest.mark.parametrize(
    ("ref", "time_diff", "height_diff", "expected_target", "expected_bits"),
    [
        (BTC_POW_LIMIT, 0, 2 * 144, BTC_POW_LIMIT >> 1, 0x1C7FFFFF),
        (BTC_POW_LIMIT, 0, 4 * 144, BTC_POW_LIMIT >> 2, 0x1C3FFFFF),
        (BTC_POW_LIMIT >> 1, 0, 2 * 144, BTC_POW_LIMIT >> 2, 0x1C3FFFFF),
        (BTC_POW_LIMIT >> 2, 0, 2 * 144, BTC_POW_LIMIT >> 3, 0x1C1FFFFF),
        (BTC_POW_LIMIT >> 3, 0, 2 * 144, BTC_POW_LIMIT >> 4, 0x1C0FFFFF),
        (BTC_POW_LIMIT, 0, 2 * (256 - 34) * 144, 3, 0x01030000),
        (BTC_POW_LIMIT, 0, 2 * (256 - 34) * 144 + 119, 3, 0x01030000),
        (BTC_POW_LIMIT, 0, 2 * (256 - 34) * 144 + 120, 2, 0x01020000),
        (BTC_POW_LIMIT, 0, 2 * (256 - 33) * 144 - 1, 2, 0x01020000),
        (BTC_POW_LIMIT, 0, 2 * (256 - 33) * 144, 1, 0x01010000),
        (BTC_POW_LIMIT, 0, 2 * (256 - 32) * 144, 1, 0x01010000),
        (1, 0, 2 * (256 - 32) * 144, 1, 0x01010000),
        (BTC_POW_LIMIT, 2 * (512 - 32) * 144, 0, BTC_POW_LIMIT, 0x1D00FFFF),
        (1, (512 - 64) * 144 * 600, 0, BTC_POW_LIMIT, 0x1D00FFFF),
        (BTC_POW_LIMIT, 300, 1, SINGLE_300_TARGET, 0x1D00FFB1),
        (FUNNY_REF_TARGET, 600 * 2 * 33 * 144, 0, BTC_POW_LIMIT, 0x1D00FFFF),
        (1, 600 * 2 * 256 * 144, 0, BTC_POW_LIMIT, 0x1D00FFFF),  # overflow to exactly 2**256
        (1, 600 * 2 * 224 * 144 - 1, 0, 0xFFFF8 << 204, 0x1D00FFFF),
    ],
)
def test_bchn_calculate_asert_table(
    ref: int, time_diff: int, height_diff: int, expected_target: int, expected_bits: int
) -> None:
    target = _asert(ref, time_diff, height_diff)
    assert target == expected_target
    assert target_to_compact(target) == expected_bits


@pytest.mark.parametrize(
    ("anchor_bits", "solve_time", "expected_bits"),
    [
        (0x18023456, 0, 0x180232FD),  # zero solve time drops the target by ~415/416
        (0x180210FE, 600, 0x180210FE),  # an ideal solve time keeps it
        (0x18034567, 86400 * 90, 0x1D00FFFF),  # three months: the pow limit
    ],
)
def test_bchn_anchor_cases(anchor_bits: int, solve_time: int, expected_bits: int) -> None:
    # BCHN asert_activation_anchor_test: the next bits right after the anchor block, whose
    # parent is `solve_time` seconds older.
    target = calculate_asert(
        compact_to_target(anchor_bits), 600, solve_time, 0, BTC_POW_LIMIT, BCH_HALF_LIFE
    )
    assert target_to_compact(target) == expected_bits


def test_bchn_anchor_jump_back_in_time_restores_bits() -> None:
    # A block after the three-month anchor, timestamped back to the ideal schedule.
    time_diff = 86400 * 90 + (-86400 * 90 + 2 * 600)
    target = calculate_asert(
        compact_to_target(0x18034567), 600, time_diff, 1, BTC_POW_LIMIT, BCH_HALF_LIFE
    )
    assert target_to_compact(target) == 0x18034567


def test_asert_exponent_truncates_toward_zero_like_cpp() -> None:
    # The fixed-point exponent (599 - 600) * 65536 / 172800 is -0.38: C++ truncates it to 0
    # (the target is unchanged) where Python's floor division would give -1.
    ref = 1 << 200
    assert calculate_asert(ref, 600, 599, 0, BTC_POW_LIMIT, BCH_HALF_LIFE) == ref
    assert calculate_asert(ref, 600, 598, 0, BTC_POW_LIMIT, BCH_HALF_LIFE) == ref  # -0.76
    assert calculate_asert(ref, 600, 597, 0, BTC_POW_LIMIT, BCH_HALF_LIFE) < ref  # -1.14 -> -1
    # Positive exponents are unaffected: 2.64 s ahead is the first step up.
    assert calculate_asert(ref, 600, 602, 0, BTC_POW_LIMIT, BCH_HALF_LIFE) == ref
    assert calculate_asert(ref, 600, 603, 0, BTC_POW_LIMIT, BCH_HALF_LIFE) > ref


def test_asert_preconditions() -> None:
    for ref in (0, BTC_POW_LIMIT + 1):
        with pytest.raises(ValueError):
            calculate_asert(ref, 600, 600, 0, BTC_POW_LIMIT, BCH_HALF_LIFE)
    with pytest.raises(ValueError):
        calculate_asert(1, 600, 600, -1, BTC_POW_LIMIT, BCH_HALF_LIFE)
    with pytest.raises(ValueError):
        calculate_asert(1, 600, 600, 0, BTC_POW_LIMIT, 0)


POW_LIMITS = st.sampled_from([BTC_POW_LIMIT, 1 << 225, 0x7FFFFF << 232, (1 << 256) - 1, 1000])


@given(
    pow_limit=POW_LIMITS,
    ref_fraction=st.floats(min_value=0, max_value=1),
    spacing=st.integers(min_value=1, max_value=1200),
    time_diff=st.integers(min_value=-(10**9), max_value=10**9),
    extra=st.integers(min_value=0, max_value=10**6),
    height_diff=st.integers(min_value=0, max_value=10**7),
    half_life=st.integers(min_value=1, max_value=10**6),
)
def test_asert_result_in_range_and_monotone_in_time(
    pow_limit: int,
    ref_fraction: float,
    spacing: int,
    time_diff: int,
    extra: int,
    height_diff: int,
    half_life: int,
) -> None:
    ref = max(1, int(pow_limit * ref_fraction))
    ref = min(ref, pow_limit)
    earlier = calculate_asert(ref, spacing, time_diff, height_diff, pow_limit, half_life)
    later = calculate_asert(ref, spacing, time_diff + extra, height_diff, pow_limit, half_life)
    assert 1 <= earlier <= pow_limit
    assert 1 <= later <= pow_limit
    assert earlier <= later


# --- next_bits_asert: Seedchain's genesis-anchored convention -------------------------------
SC_POW_LIMIT = 1 << 225  # main's limit, bits 0x1d020000
SC_SPACING = 60
SC_HALF_LIFE = 3600
GENESIS_TIME = 1_795_305_600


def _sc_next_bits(anchor_bits: int, parent_time: int, parent_height: int) -> int:
    return next_bits_asert(
        anchor_bits=anchor_bits,
        anchor_time=GENESIS_TIME,
        anchor_height=0,
        parent_time=parent_time,
        parent_height=parent_height,
        spacing=SC_SPACING,
        half_life=SC_HALF_LIFE,
        pow_limit=SC_POW_LIMIT,
    )


def test_block_after_genesis_keeps_genesis_bits() -> None:
    assert _sc_next_bits(0x1D020000, GENESIS_TIME, 0) == 0x1D020000
    assert _sc_next_bits(0x1C123456, GENESIS_TIME, 0) == 0x1C123456


def test_on_schedule_chain_keeps_bits() -> None:
    for height in (1, 2, 100, 10_000, 1_000_000):
        assert _sc_next_bits(0x1C123456, GENESIS_TIME + SC_SPACING * height, height) == 0x1C123456


def test_half_life_behind_or_ahead_doubles_or_halves() -> None:
    target = compact_to_target(0x1C123456)
    late = _sc_next_bits(0x1C123456, GENESIS_TIME + 100 * SC_SPACING + SC_HALF_LIFE, 100)
    early = _sc_next_bits(0x1C123456, GENESIS_TIME + 100 * SC_SPACING - SC_HALF_LIFE, 100)
    assert compact_to_target(late) == target * 2
    assert compact_to_target(early) == target // 2
    # At the limit, slow blocks cannot ease further.
    assert _sc_next_bits(0x1D020000, GENESIS_TIME + 10**7, 5) == 0x1D020000


def test_next_bits_rejects_parent_below_anchor_and_bad_anchor_bits() -> None:
    with pytest.raises(ValueError):
        _sc_next_bits(0x1D020000, GENESIS_TIME, -1)
    with pytest.raises(BadCompactBits):
        _sc_next_bits(0x04923456, GENESIS_TIME, 1)
