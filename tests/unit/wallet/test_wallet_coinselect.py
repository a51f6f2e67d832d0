"""Coin selection: branch and bound, largest-first with change, dust, exclusions, errors;
spending every coin (``select_all``)."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.transaction import COIN, OutPoint, TxOut
from wallet.coinselect import (
    FeePolicy,
    Selection,
    SpendableCoin,
    bnb_search,
    dust_threshold,
    select_all,
    select_coins,
)
from wallet.errors import InsufficientFunds, InvalidAmount, InvalidFeeRate
from wallet.keys import KeyId
from wallet.txsize import output_size, signed_tx_size, spend_size

CHANGE_LOCK = b"\x00" + b"\xcc" * 20
PAY_LOCK = b"\x00" + b"\xaa" * 20
PLACEHOLDER = 2**31  # an amount of the same msgpack width (5 bytes) as the ones paid below


def coin(n: int, value: int, vout: int = 0) -> SpendableCoin:
    txid = hashlib.sha256(n.to_bytes(4, "big")).digest()
    return SpendableCoin(OutPoint(txid, vout), value, b"\x00" + bytes([n % 256]) * 20, KeyId(0, n))


def pay(amount: int) -> list[TxOut]:
    return [TxOut(amount, PAY_LOCK)]


def size_of(selection: Selection) -> int:
    outputs = list(selection.payments)
    if selection.change:
        outputs.append(TxOut(selection.change, CHANGE_LOCK))
    return signed_tx_size([c.outpoint for c in selection.coins], outputs)


def check_invariants(selection: Selection, amount: int, rate: int, dust_rate: int = 3) -> None:
    assert selection.total_in == amount + selection.change + selection.fee
    assert selection.size == size_of(selection)
    assert selection.fee >= rate * selection.size
    assert len({c.outpoint for c in selection.coins}) == len(selection.coins)
    if selection.change:
        assert selection.change >= dust_threshold(CHANGE_LOCK, dust_rate)
        assert selection.fee - rate * selection.size < rate * 9  # integer-width gap only


def test_bnb_exact_match_without_change() -> None:
    rate = 2
    coins = [coin(1, 3 * COIN), coin(2, 70_000_000), coin(3, 50_000_000), coin(4, 20_000_000)]
    exact = [coins[2], coins[3]]  # 0.7 coins + fees is met exactly by 0.5 + 0.2
    size = signed_tx_size([c.outpoint for c in exact], pay(PLACEHOLDER))
    amount = 70_000_000 - rate * size
    selection = select_coins(coins, pay(amount), rate, CHANGE_LOCK)
    assert selection.algorithm == "bnb"
    assert selection.change == 0
    assert {c.outpoint for c in selection.coins} in (
        {coins[1].outpoint},  # 0.7 alone: also an exact match, with less waste
        {c.outpoint for c in exact},
    )
    check_invariants(selection, amount, rate)


def test_bnb_prefers_exact_subset_over_change() -> None:
    rate = 1
    coins = [coin(1, 10 * COIN), coin(2, 3 * COIN), coin(3, 2 * COIN)]
    size = signed_tx_size([coins[1].outpoint, coins[2].outpoint], pay(PLACEHOLDER))
    amount = 5 * COIN - rate * size - 100  # 100 units of excess, within the cost of change
    selection = select_coins(coins, pay(amount), rate, CHANGE_LOCK)
    assert selection.algorithm == "bnb"
    assert {c.outpoint for c in selection.coins} == {coins[1].outpoint, coins[2].outpoint}
    assert selection.fee == rate * size + 100
    check_invariants(selection, amount, rate)


def test_fallback_largest_first_with_change() -> None:
    rate = 5
    coins = [coin(1, 1 * COIN), coin(2, 4 * COIN), coin(3, 2 * COIN)]
    amount = 5 * COIN
    selection = select_coins(coins, pay(amount), rate, CHANGE_LOCK)
    assert selection.algorithm == "largest_first"
    assert [c.value for c in selection.coins] == [4 * COIN, 2 * COIN]
    assert selection.change > 0
    assert selection.fee == rate * selection.size
    check_invariants(selection, amount, rate)


def test_dust_change_is_absorbed_into_the_fee() -> None:
    rate = 1
    only = coin(1, COIN)
    base = signed_tx_size([only.outpoint], pay(PLACEHOLDER))
    excess = 300  # above BnB's cost of change (~167), but change would be dust (< 492)
    amount = COIN - rate * base - excess
    selection = select_coins([only], pay(amount), rate, CHANGE_LOCK)
    assert selection.algorithm == "largest_first"
    assert selection.change == 0
    assert selection.fee == COIN - amount == rate * base + excess
    check_invariants(selection, amount, rate)


def test_change_just_above_dust_is_kept() -> None:
    rate = 1
    only = coin(1, COIN)
    dust = dust_threshold(CHANGE_LOCK)
    with_change = signed_tx_size([only.outpoint], [*pay(PLACEHOLDER), TxOut(dust, CHANGE_LOCK)])
    amount = COIN - rate * with_change - dust
    selection = select_coins([only], pay(amount), rate, CHANGE_LOCK)
    assert selection.change == dust
    check_invariants(selection, amount, rate)


def test_insufficient_funds_reports_amounts() -> None:
    rate = 3
    coins = [coin(1, COIN), coin(2, 2 * COIN)]
    amount = 3 * COIN
    with pytest.raises(InsufficientFunds) as caught:
        select_coins(coins, pay(amount), rate, CHANGE_LOCK)
    error = caught.value
    assert error.available == 3 * COIN
    assert error.needed == amount + rate * signed_tx_size(
        [c.outpoint for c in coins], pay(PLACEHOLDER)
    )
    assert str(error).startswith("insufficient funds: 3 coins available, 3.0000")


def test_uneconomic_coins_are_not_counted() -> None:
    rate = 10
    tiny = coin(1, 500)  # costs more than 500 to spend at 10 units/byte
    with pytest.raises(InsufficientFunds) as caught:
        select_coins([tiny, coin(2, 10_000)], pay(9_000), rate, CHANGE_LOCK)
    assert caught.value.available == 10_000


def test_exclusion_set_is_respected() -> None:
    rate = 1
    coins = [coin(1, 5 * COIN), coin(2, 3 * COIN), coin(3, 3 * COIN)]
    reserved = {coins[0].outpoint}
    selection = select_coins(coins, pay(4 * COIN), rate, CHANGE_LOCK, exclude=reserved)
    assert reserved.isdisjoint(c.outpoint for c in selection.coins)
    with pytest.raises(InsufficientFunds) as caught:
        select_coins(coins, pay(7 * COIN), rate, CHANGE_LOCK, exclude=reserved)
    assert caught.value.available == 6 * COIN


def test_two_sends_in_quick_succession_never_share_coins() -> None:
    coins = [coin(n, (n + 1) * COIN) for n in range(6)]
    first = select_coins(coins, pay(2 * COIN), 1, CHANGE_LOCK)
    reserved = {c.outpoint for c in first.coins}
    second = select_coins(coins, pay(2 * COIN), 1, CHANGE_LOCK, exclude=reserved)
    assert reserved.isdisjoint(c.outpoint for c in second.coins)


def test_deterministic_whatever_the_order() -> None:
    coins = [coin(n, COIN * (n % 4 + 1) + n) for n in range(30)]
    first = select_coins(coins, pay(7 * COIN), 2, CHANGE_LOCK)
    shuffled = list(coins)
    random.Random(7).shuffle(shuffled)
    assert select_coins(shuffled, pay(7 * COIN), 2, CHANGE_LOCK) == first


def test_preset_coins_are_always_spent() -> None:
    coins = [coin(1, 10 * COIN), coin(2, COIN)]
    selection = select_coins(coins[:1], pay(COIN // 2), 1, CHANGE_LOCK, preset=[coins[1]])
    assert selection.coins == (coins[1],)
    selection = select_coins(coins[:1], pay(3 * COIN), 1, CHANGE_LOCK, preset=[coins[1]])
    assert selection.coins == (coins[1], coins[0])


def test_fee_floor_policy() -> None:
    policy = FeePolicy(rate=2, floor=10_000, floor_rate=1)
    assert policy.fee_for_size(100) == 10_100
    assert policy.fee_for_size(20_000) == 40_000
    selection = select_coins([coin(1, COIN)], pay(COIN // 2), policy, CHANGE_LOCK)
    assert selection.fee == policy.fee_for_size(selection.size)


@pytest.mark.parametrize("rate", [0, -1])
def test_bad_fee_rate(rate: int) -> None:
    with pytest.raises(InvalidFeeRate):
        select_coins([coin(1, COIN)], pay(1000), rate, CHANGE_LOCK)


def test_bad_payments() -> None:
    with pytest.raises(InvalidAmount, match="dust"):
        select_coins([coin(1, COIN)], pay(100), 1, CHANGE_LOCK)
    with pytest.raises(InvalidAmount):
        select_coins([coin(1, COIN)], pay(0), 1, CHANGE_LOCK)
    with pytest.raises(InvalidAmount):
        select_coins([coin(1, COIN)], [], 1, CHANGE_LOCK)


def test_bnb_search_exact_and_exhaustion() -> None:
    zeros = [0] * 5
    values = [50, 40, 30, 20, 10]
    picked = bnb_search(values, zeros, zeros, 60, 0)
    assert picked is not None and sum(values[i] for i in picked) == 60
    assert bnb_search(values, zeros, zeros, 151, 0) is None  # more than everything
    assert bnb_search([40, 20], [0, 0], [0, 0], 30, 5) is None  # no sum within [30, 35]
    assert bnb_search(values, zeros, zeros, 60, 0, max_tries=1) is None  # gave up early
    # Many equal values with no exact match: the duplicate-skipping keeps this quick.
    many = [2] * 40
    assert bnb_search(many, [0] * 40, [0] * 40, 41, 0) is None


def test_many_small_coins_still_exact() -> None:
    # A selection of 16+ inputs grows both array headers; the result must still pay its size.
    coins = [coin(n, 1_000_000 + n) for n in range(40)]
    amount = 20_000_000
    selection = select_coins(coins, pay(amount), 3, CHANGE_LOCK)
    assert len(selection.coins) >= 16
    check_invariants(selection, amount, 3)


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.integers(1, 10_000), st.integers(10_000, 50 * COIN)), min_size=0, max_size=25
    ),
    amount=st.integers(600, 60 * COIN),
    rate=st.integers(1, 50),
    excluded=st.sets(st.integers(0, 24), max_size=5),
)
def test_selection_properties(
    values: list[int], amount: int, rate: int, excluded: set[int]
) -> None:
    coins = [coin(n, value, vout=n * 37) for n, value in enumerate(values)]
    exclude = {coins[i].outpoint for i in excluded if i < len(coins)}
    try:
        selection = select_coins(coins, pay(amount), rate, CHANGE_LOCK, exclude=exclude)
    except InsufficientFunds as error:
        usable = [
            c
            for c in coins
            if c.outpoint not in exclude and c.value > rate * spend_size(c.outpoint)
        ]
        assert error.available == sum(c.value for c in usable) < error.needed
        return
    assert exclude.isdisjoint(c.outpoint for c in selection.coins)
    assert selection.total_in >= amount + selection.fee
    check_invariants(selection, amount, rate)
    if selection.algorithm == "bnb":
        cost_of_change = rate * output_size(TxOut(2**32 - 1, CHANGE_LOCK)) + 1 * 138
        assert selection.fee - rate * selection.size <= cost_of_change
    assert select_coins(coins, pay(amount), rate, CHANGE_LOCK, exclude=exclude) == selection


@pytest.mark.parametrize("boundary", [0x80, 0x100, 0x1_0000, 0x1_0000_0000])
def test_change_at_integer_width_boundaries(boundary: int) -> None:
    # Around a width boundary the change value's own width changes the size and so the fee;
    # every amount must still give a consistent selection, short by at most the width step.
    rate = 7
    only = coin(1, 50 * COIN)
    gaps = 0
    for delta in range(-3 * rate - 20, 3 * rate + 20):
        with_change = signed_tx_size(
            [only.outpoint], [*pay(PLACEHOLDER), TxOut(boundary, CHANGE_LOCK)]
        )
        amount = only.value - rate * with_change - boundary + delta
        selection = select_coins([only], pay(amount), rate, CHANGE_LOCK, dust_relay_fee_rate=0)
        check_invariants(selection, amount, rate, dust_rate=0)
        gaps += bool(selection.change) and selection.fee != rate * selection.size
    assert gaps <= 4 * rate


# --- select_all: every coin to one output, no change ----------------------------------------
def test_select_all_spends_every_coin_but_the_excluded() -> None:
    coins = [coin(n, (n + 1) * COIN) for n in range(5)] + [coin(9, 200)]  # 200: uneconomic
    exclude = {coins[0].outpoint}
    selection = select_all(coins, PAY_LOCK, 4, exclude=exclude)
    assert selection.algorithm == "all" and selection.change == 0
    assert {c.outpoint for c in selection.coins} == {c.outpoint for c in coins[1:]}
    (payment,) = selection.payments
    assert payment.lock == PAY_LOCK
    assert payment.value + selection.fee == selection.total_in == 14 * COIN + 200
    assert selection.size == signed_tx_size([c.outpoint for c in selection.coins], [payment])
    assert selection.fee == 4 * selection.size


def test_select_all_refuses_dust_nothing_and_oversize() -> None:
    with pytest.raises(InsufficientFunds, match="insufficient funds") as nothing:
        select_all([], PAY_LOCK, 1)
    assert nothing.value.available == 0
    dust = dust_threshold(PAY_LOCK)
    fee = 3 * signed_tx_size([coin(1, 0).outpoint], [TxOut(dust, PAY_LOCK)])
    with pytest.raises(InsufficientFunds, match="dust") as dusty:
        select_all([coin(1, dust + fee - 1)], PAY_LOCK, 3)  # one unit short of dust
    assert dusty.value.available == dust + fee - 1 < dusty.value.needed == dust + fee
    exact = select_all([coin(1, dust + fee)], PAY_LOCK, 3)
    assert (exact.payments[0].value, exact.fee) == (dust, fee)
    many = [coin(n, COIN) for n in range(30)]
    with pytest.raises(InvalidAmount, match="over the 2000-byte limit"):
        select_all(many, PAY_LOCK, 1, max_size=2000)
    with pytest.raises(InvalidFeeRate):
        select_all(many, PAY_LOCK, 0)


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.integers(1, 60 * COIN), min_size=1, max_size=20),
    rate=st.integers(1, 60),
)
def test_select_all_properties(values: list[int], rate: int) -> None:
    coins = [coin(n, value, vout=n) for n, value in enumerate(values)]
    try:
        selection = select_all(coins, PAY_LOCK, rate)
    except InsufficientFunds as error:
        assert error.available == sum(values) < error.needed
        return
    (payment,) = selection.payments
    assert len(selection.coins) == len(coins) and selection.change == 0
    assert payment.value >= dust_threshold(PAY_LOCK)
    assert payment.value + selection.fee == sum(values)
    assert selection.size == signed_tx_size([c.outpoint for c in selection.coins], [payment])
    assert rate * selection.size <= selection.fee < rate * (selection.size + 9)
