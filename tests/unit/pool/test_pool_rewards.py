"""The reward arithmetic: largest-remainder splits, PPLNS and PROP weights, the operator fee,
and the coinbase payout with carried dust (pure functions, checked by example and property)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pool.rewards import (
    ShareWork,
    coinbase_payout,
    fee_ppm_from_percent,
    largest_remainder,
    pplns_weights,
    prop_weights,
    split_reward,
)

ADDRESSES = [f"rsc1addr{i:02d}" for i in range(8)]
OP = "rsc1operator"


def test_largest_remainder_examples() -> None:
    assert largest_remainder(100, {"a": 1, "b": 2}) == {"a": 33, "b": 67}
    # equal remainders: the smaller address first
    assert largest_remainder(10, {"c": 1, "a": 1, "b": 1}) == {"a": 4, "b": 3, "c": 3}
    assert largest_remainder(5, {"a": 0, "b": -1}) == {}
    assert largest_remainder(7, {"a": 5, "b": 0}) == {"a": 7}
    with pytest.raises(ValueError):
        largest_remainder(-1, {"a": 1})


@given(
    st.integers(0, 10**16),
    st.dictionaries(st.sampled_from(ADDRESSES), st.integers(1, 2**70), min_size=1),
)
def test_largest_remainder_sums_exactly_and_is_fair(total: int, weights: dict[str, int]) -> None:
    shares = largest_remainder(total, weights)
    assert sum(shares.values()) == total
    whole = sum(weights.values())
    for address, weight in weights.items():
        exact = Fraction(total * weight, whole)
        assert exact - 1 < shares[address] < exact + 1


def test_pplns_counts_the_newest_work_and_part_of_the_oldest_share() -> None:
    newest_first = [ShareWork(3, "a", 10), ShareWork(2, "b", 10), ShareWork(1, "a", 10)]
    assert pplns_weights(newest_first, 25) == {"a": 15, "b": 10}
    assert pplns_weights(newest_first, 10) == {"a": 10}
    assert pplns_weights(newest_first, 1000) == {"a": 20, "b": 10}
    assert pplns_weights([], 10) == {}
    assert prop_weights(newest_first) == {"a": 20, "b": 10}


def test_fee_and_split() -> None:
    assert fee_ppm_from_percent("1.5") == 15_000
    assert fee_ppm_from_percent("0.0001") == 1
    assert fee_ppm_from_percent("100") == 1_000_000
    for bad in ("101", "-1", "0.00001", "abc", "nan"):
        with pytest.raises(ValueError):
            fee_ppm_from_percent(bad)
    miners, operator = split_reward(1_000_000_001, 20_000, {"a": 1, "b": 1})
    assert operator == 20_000_000 and miners == {"a": 490_000_001, "b": 490_000_000}
    assert split_reward(5000, 0, {}) == ({}, 5000)  # nobody to pay: all to the operator


def test_dust_is_carried_then_paid_and_the_operator_holds_the_float() -> None:
    # block 1: b's part (500) is under the dust threshold: carried; the operator keeps it
    first = coinbase_payout(10_000, {"a": 9_000, "b": 500}, 500, {}, OP, 1_000, 10)
    assert first.outputs == (("a", 9_000), (OP, 1_000))
    credits = {c.address: c for c in first.credits}
    assert credits["b"].paid == 0 and credits["b"].carry_delta == 500
    # block 2: b's 600 + 500 carried reaches the threshold: paid 1,100 out of the operator's part
    second = coinbase_payout(10_000, {"a": 8_900, "b": 600}, 500, {"b": 500}, OP, 1_000, 10)
    assert second.outputs == (("a", 8_900), ("b", 1_100))  # the operator gets 0: no output
    assert sum(v for _, v in second.outputs) == 10_000
    credits = {c.address: c for c in second.credits}
    assert credits["b"] == type(credits["b"])("b", 600, 1_100, -500)


def test_carried_balances_wait_when_the_operator_cannot_fund_them() -> None:
    # no fee, everyone is paid: a carried 5,000 cannot be paid out of this block
    payout = coinbase_payout(10_000, {"a": 6_000, "b": 4_000}, 0, {"b": 5_000}, OP, 1_000, 10)
    assert payout.outputs == (("a", 6_000), (OP, 4_000))
    assert {c.address: c.carry_delta for c in payout.credits} == {"a": 0, "b": 4_000}


def test_max_outputs_defers_the_smallest() -> None:
    amounts = {f"m{i}": 1_000 + i for i in range(5)}
    payout = coinbase_payout(sum(amounts.values()), amounts, 0, {}, OP, 10, 3)
    assert [a for a, _ in payout.outputs] == ["m3", "m4", OP]


@settings(max_examples=300)
@given(
    reward=st.integers(0, 10**10),
    weights=st.dictionaries(st.sampled_from(ADDRESSES), st.integers(1, 2**40)),
    carried=st.dictionaries(st.sampled_from(ADDRESSES), st.integers(-(10**6), 10**6)),
    fee_ppm=st.integers(0, 1_000_000),
    dust=st.integers(0, 10**6),
    max_outputs=st.integers(2, 6),
)
def test_payout_invariants(
    reward: int,
    weights: dict[str, int],
    carried: dict[str, int],
    fee_ppm: int,
    dust: int,
    max_outputs: int,
) -> None:
    miners, operator_amount = split_reward(reward, fee_ppm, weights)
    payout = coinbase_payout(reward, miners, operator_amount, carried, OP, dust, max_outputs)
    assert sum(v for _, v in payout.outputs) == reward
    assert len(payout.outputs) <= max_outputs
    assert payout.operator_paid >= 0
    for credit in payout.credits:
        assert credit.amount == credit.paid + credit.carry_delta
        assert credit.amount == miners.get(credit.address, 0)
        if credit.paid:
            assert credit.paid >= dust and credit.paid == credit.amount + carried.get(
                credit.address, 0
            )
    paid = {a: v for a, v in payout.outputs if a != OP}
    assert paid == {c.address: c.paid for c in payout.credits if c.paid}
