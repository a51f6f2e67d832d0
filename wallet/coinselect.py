"""Coin selection: which of our coins pay for a transaction, and whether it has change.

May import ``consensus.transaction`` and ``wallet`` modules (amounts, errors, keys, txsize).
Pure and deterministic: the same coins, payments and fee policy give the same selection
(ties are broken by outpoint), with no randomness and no clock.

1. **Branch and bound** (Bitcoin Core's ``SelectCoinsBnB``, Murch's algorithm): a depth-first
   search, largest effective value first, for a set of coins whose effective value
   (``value - fee_rate * spend_size``) lands within ``[target, target + cost_of_change]``, so
   no change output is needed and the small excess goes to the fee. Among the matches it
   keeps the least "waste" (excess plus the fee paid now above the long-term rate); it gives
   up after ``max_tries`` steps (100,000).
2. **Largest first**, when BnB finds nothing: add coins from the largest until they pay the
   payments and the fee, then add a change output, unless the change would be below the dust
   threshold, in which case it is left to the fee.

Sizes are exact (:mod:`wallet.txsize`), so a selection's fee is ``fee_rate * size`` of the
signed transaction when it has change (give or take a few bytes' worth when the change value
sits where its integer width changes), and at least that without change. Coins in
``exclude`` (reserved by a pending send) are never selected. ``preset`` coins are always
spent (a fee bump keeps the inputs of the transaction it replaces); with presets, or a fee
floor, only largest-first runs.

:func:`select_all` spends every coin to one output with no change: "send everything".
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from consensus.encoding import uint_size
from consensus.transaction import MAX_MONEY, MAX_TX_SIZE, OutPoint, TxOut
from wallet.amounts import format_amount
from wallet.errors import InsufficientFunds, InvalidAmount, InvalidFeeRate
from wallet.keys import KeyId
from wallet.txsize import output_size, signed_tx_size, spend_size

BNB_MAX_TRIES = 100_000
LONG_TERM_FEE_RATE = 1
"""The fee rate (units per byte) we expect to pay to spend a coin later, in quieter times."""
DUST_RELAY_FEE_RATE = 3
"""As Bitcoin Core: an output is dust if it is worth less than spending it costs at this rate."""


class SpendableCoin(NamedTuple):
    """One of our unspent outputs and the key that spends it."""

    outpoint: OutPoint
    value: int
    lock: bytes
    key_id: KeyId
    confirmed: bool = True  # False: our unconfirmed change (spent only when needed)


@dataclass(frozen=True)
class FeePolicy:
    """The fee a transaction of ``size`` bytes must pay: ``rate * size``, and at least
    ``floor + floor_rate * size`` (a replacement pays the old fee plus the incremental relay
    fee for its own size)."""

    rate: int
    floor: int = 0
    floor_rate: int = 0

    def __post_init__(self) -> None:
        if type(self.rate) is not int or self.rate < 1:
            raise InvalidFeeRate(
                f"fee rate must be a whole number >= 1 unit/byte, got {self.rate!r}"
            )
        if self.floor < 0 or self.floor_rate < 0:
            raise ValueError("fee floor must be non-negative")

    def fee_for_size(self, size: int) -> int:
        return max(self.rate * size, self.floor + self.floor_rate * size)

    @property
    def is_linear(self) -> bool:
        return self.floor == 0 and self.floor_rate <= self.rate


@dataclass(frozen=True)
class Selection:
    """The chosen coins, the change (0: no change output), the fee and the signed size."""

    coins: tuple[SpendableCoin, ...]
    payments: tuple[TxOut, ...]
    change: int
    fee: int
    size: int
    algorithm: str  # "bnb", "largest_first" or "all"

    @property
    def total_in(self) -> int:
        return sum(coin.value for coin in self.coins)


def dust_threshold(lock: bytes, dust_relay_fee_rate: int = DUST_RELAY_FEE_RATE) -> int:
    """The smallest output to ``lock`` worth creating: what creating and later spending it
    costs at the dust relay rate (492 units for a key-hash lock at 3 units/byte)."""
    typical_output = output_size(TxOut(0xFFFF, lock))
    typical_spend = spend_size(OutPoint(bytes(32), 0))
    return dust_relay_fee_rate * (typical_output + typical_spend)


def select_coins(
    coins: Iterable[SpendableCoin],
    payments: Sequence[TxOut],
    fee: FeePolicy | int,
    change_lock: bytes,
    *,
    exclude: Collection[OutPoint] = frozenset(),
    preset: Sequence[SpendableCoin] = (),
    long_term_fee_rate: int = LONG_TERM_FEE_RATE,
    dust_relay_fee_rate: int = DUST_RELAY_FEE_RATE,
    max_tries: int = BNB_MAX_TRIES,
    locktime: int = 0,
) -> Selection:
    """Choose coins to pay ``payments`` at ``fee`` (a rate in units/byte, or a policy).

    Raises :class:`InsufficientFunds` (with the available and needed amounts) when even every
    usable coin is not enough, :class:`InvalidAmount` for a payment that is zero, dust or
    over ``MAX_MONEY``, :class:`InvalidFeeRate` for a rate below 1.
    """
    policy = fee if isinstance(fee, FeePolicy) else FeePolicy(fee)
    payments = tuple(payments)
    amount = check_payments(payments, dust_relay_fee_rate)
    preset = unique_coins(preset)
    taken = {coin.outpoint for coin in preset} | set(exclude)
    candidates = [coin for coin in unique_coins(coins) if coin.outpoint not in taken]
    economic = sorted(
        (coin for coin in candidates if _effective_value(coin, policy.rate) > 0),
        key=lambda coin: (-_effective_value(coin, policy.rate), coin.outpoint.key()),
    )
    if not preset and policy.is_linear:
        found = _branch_and_bound(
            economic, payments, amount, policy, change_lock, long_term_fee_rate, max_tries, locktime
        )
        if found is not None:
            return found
    minimum_change = dust_threshold(change_lock, dust_relay_fee_rate)
    ordered = [*preset, *economic]
    for count in range(max(1, len(preset)), len(ordered) + 1):
        found = _finish(
            ordered[:count], payments, amount, policy, change_lock, minimum_change, locktime
        )
        if found is not None:
            return found
    available = sum(coin.value for coin in ordered)
    all_size = signed_tx_size([coin.outpoint for coin in ordered], payments, locktime=locktime)
    needed = amount + policy.fee_for_size(all_size)
    raise InsufficientFunds(
        available,
        needed,
        f"insufficient funds: {format_amount(available)} coins available,"
        f" {format_amount(needed)} needed (amount plus fee)",
    )


def select_all(
    coins: Iterable[SpendableCoin],
    lock: bytes,
    fee: FeePolicy | int,
    *,
    exclude: Collection[OutPoint] = frozenset(),
    dust_relay_fee_rate: int = DUST_RELAY_FEE_RATE,
    max_size: int = MAX_TX_SIZE,
    locktime: int = 0,
) -> Selection:
    """Spend every coin not in ``exclude`` to one output at ``lock`` worth their total less
    the fee, with no change (Bitcoin Core's ``sendall``: no coin is left behind, even one
    worth less than the fee its spending adds).

    Raises :class:`InsufficientFunds` when there is nothing to spend or what is left after
    the fee is below the dust threshold, :class:`InvalidAmount` when the transaction would be
    over ``max_size`` bytes, :class:`InvalidFeeRate` for a rate below 1.
    """
    policy = fee if isinstance(fee, FeePolicy) else FeePolicy(fee)
    chosen = sorted(
        (coin for coin in unique_coins(coins) if coin.outpoint not in exclude),
        key=lambda coin: coin.outpoint.key(),
    )
    total = sum(coin.value for coin in chosen)
    outpoints = [coin.outpoint for coin in chosen]
    dust = dust_threshold(lock, dust_relay_fee_rate)
    # The output's value sets its own msgpack width: as change_for, with no payments.
    found = change_for(total, 0, outpoints, (), lock, policy, locktime) if chosen else None
    if found is None or found[0] < dust:
        fee = policy.fee_for_size(signed_tx_size(outpoints, [TxOut(dust, lock)], locktime=locktime))
        raise InsufficientFunds(
            total,
            dust + fee,
            f"insufficient funds: {format_amount(total)} coins spendable, at least"
            f" {format_amount(dust + fee)} needed to send them all (the fee plus an output"
            " above the dust threshold)",
        )
    value, fee, size = found
    if size > max_size:
        raise InvalidAmount(
            f"sending all {len(chosen)} coins needs a {size}-byte transaction, over the"
            f" {max_size}-byte limit; send an amount instead"
        )
    return Selection(tuple(chosen), (TxOut(value, lock),), 0, fee, size, "all")


def check_payments(payments: Sequence[TxOut], dust_relay_fee_rate: int) -> int:
    """The payments' total; :class:`InvalidAmount` if there are none, or one is zero, dust or
    over ``MAX_MONEY``, or together they are."""
    if not payments:
        raise InvalidAmount("a transaction needs at least one payment")
    for payment in payments:
        if not 0 < payment.value <= MAX_MONEY:
            raise InvalidAmount(f"payment of {payment.value} units is outside 1..MAX_MONEY")
        dust = dust_threshold(payment.lock, dust_relay_fee_rate)
        if payment.value < dust:
            raise InvalidAmount(
                f"amount {format_amount(payment.value)} is below the dust threshold"
                f" of {format_amount(dust)}"
            )
    amount = sum(payment.value for payment in payments)
    if amount > MAX_MONEY:
        raise InvalidAmount("payments add up to more than MAX_MONEY")
    return amount


def unique_coins(coins: Iterable[SpendableCoin]) -> list[SpendableCoin]:
    """``coins`` in order, each outpoint once."""
    seen: set[OutPoint] = set()
    result = []
    for coin in coins:
        if coin.outpoint not in seen:
            seen.add(coin.outpoint)
            result.append(coin)
    return result


def _effective_value(coin: SpendableCoin, rate: int) -> int:
    return coin.value - rate * spend_size(coin.outpoint)


# --- largest first, with change -----------------------------------------------------------------
def _finish(
    chosen: Sequence[SpendableCoin],
    payments: tuple[TxOut, ...],
    amount: int,
    policy: FeePolicy,
    change_lock: bytes,
    minimum_change: int,
    locktime: int,
) -> Selection | None:
    """The selection spending exactly ``chosen``, with change if it is worth having, or None
    if ``chosen`` cannot pay ``payments`` and the fee."""
    total = sum(coin.value for coin in chosen)
    outpoints = [coin.outpoint for coin in chosen]
    size = signed_tx_size(outpoints, payments, locktime=locktime)
    if total < amount + policy.fee_for_size(size):
        return None
    with_change = change_for(total, amount, outpoints, payments, change_lock, policy, locktime)
    if with_change is not None and with_change[0] >= minimum_change:
        change, change_fee, change_size = with_change
        return Selection(tuple(chosen), payments, change, change_fee, change_size, "largest_first")
    return Selection(tuple(chosen), payments, 0, total - amount, size, "largest_first")


def change_for(
    total: int,
    amount: int,
    outpoints: Sequence[OutPoint],
    payments: Sequence[TxOut],
    change_lock: bytes,
    policy: FeePolicy,
    locktime: int = 0,
) -> tuple[int, int, int] | None:
    """``(change, fee, size)`` of the transaction that spends ``outpoints`` (worth ``total``)
    to ``payments`` plus a change output to ``change_lock``; None if the change would be
    negative. The change value's own width enters the size, so try each msgpack integer
    width until the change fits the width that was assumed."""
    for width_floor in (0, 0x80, 0x100, 0x1_0000, 0x1_0000_0000):
        assumed = [*payments, TxOut(width_floor, change_lock)]
        fee = policy.fee_for_size(signed_tx_size(outpoints, assumed, locktime=locktime))
        change = total - amount - fee
        if change < 0:
            return None
        if uint_size(change) <= uint_size(width_floor):
            # Equal: an exact fit. Narrower: the width boundary has no exact fit (one width
            # short, the next too long); pay the few bytes' difference as fee.
            outputs = [*payments, TxOut(change, change_lock)]
            size = signed_tx_size(outpoints, outputs, locktime=locktime)
            return change, total - amount - change, size
    raise AssertionError("unreachable: every amount fits a 9-byte integer")


# --- branch and bound, no change ----------------------------------------------------------------
def _branch_and_bound(
    pool: Sequence[SpendableCoin],
    payments: tuple[TxOut, ...],
    amount: int,
    policy: FeePolicy,
    change_lock: bytes,
    long_term_fee_rate: int,
    max_tries: int,
    locktime: int,
) -> Selection | None:
    if not pool:
        return None
    rate = policy.rate
    not_input_fee = rate * signed_tx_size([], payments, locktime=locktime)
    target = amount + not_input_fee
    change_output = output_size(TxOut(0xFFFF_FFFF, change_lock))
    cost_of_change = rate * change_output + long_term_fee_rate * spend_size(OutPoint(bytes(32), 0))
    values = [_effective_value(coin, rate) for coin in pool]
    fees = [rate * spend_size(coin.outpoint) for coin in pool]
    long_term_fees = [long_term_fee_rate * spend_size(coin.outpoint) for coin in pool]
    picked = bnb_search(values, fees, long_term_fees, target, cost_of_change, max_tries)
    if picked is None:
        return None
    chosen = tuple(pool[i] for i in picked)
    size = signed_tx_size([coin.outpoint for coin in chosen], payments, locktime=locktime)
    fee = sum(coin.value for coin in chosen) - amount
    if fee < policy.fee_for_size(size):
        return None  # 16+ inputs: array headers grow by 2 bytes each, beyond BnB's sum
    return Selection(chosen, payments, 0, fee, size, "bnb")


def bnb_search(
    values: Sequence[int],
    fees: Sequence[int],
    long_term_fees: Sequence[int],
    target: int,
    cost_of_change: int,
    max_tries: int = BNB_MAX_TRIES,
) -> list[int] | None:
    """Bitcoin Core's ``SelectCoinsBnB`` over effective ``values`` (all positive, sorted in
    descending order): the indexes of the least-waste subset whose sum is within
    ``[target, target + cost_of_change]``, or None. ``fees``/``long_term_fees`` are each
    coin's spending fee now and at the long-term rate (waste counts their difference)."""
    available = sum(values)
    if available < target:
        return None
    selected: list[int] = []
    value = 0
    waste = 0
    best: list[int] = []
    best_waste = MAX_MONEY
    fee_rate_high = fees[0] > long_term_fees[0]
    index = 0
    for _ in range(max_tries):
        backtrack = False
        if (
            value + available < target
            or value > target + cost_of_change
            or (waste > best_waste and fee_rate_high)
        ):
            backtrack = True
        elif value >= target:
            excess_waste = waste + value - target
            if excess_waste <= best_waste:
                best = list(selected)
                best_waste = excess_waste
            backtrack = True
        if backtrack:
            if not selected:
                break  # every branch explored
            # Put the coins omitted after the last selected one back into the lookahead,
            # then take the omission branch of that last selected coin.
            index -= 1
            while index > selected[-1]:
                available += values[index]
                index -= 1
            value -= values[index]
            waste -= fees[index] - long_term_fees[index]
            selected.pop()
        else:
            available -= values[index]
            if (
                not selected
                or index - 1 == selected[-1]
                or values[index] != values[index - 1]
                or fees[index] != fees[index - 1]
            ):
                selected.append(index)
                value += values[index]
                waste += fees[index] - long_term_fees[index]
        index += 1
    return best or None
