"""Coin selection when the recipients pay the fee (Bitcoin Core's ``subtractfeefromamount``).

May import ``consensus.transaction`` and ``wallet`` modules (amounts, coinselect, errors,
txsize). Pure and deterministic, like :mod:`wallet.coinselect`.

The payments are what the recipients are *asked* for; the fee comes out of the ones named by
``subtract_from`` (indexes into the payments), split equally, the first of them paying what
does not divide (as Core). So the coins need only cover the payments, not payments plus fee,
and they are taken largest first by their value (not their value less the cost of spending
them, since that cost is the recipients'), then:

* the excess over the payments, if it is worth an output (at least the dust threshold), is
  our change, whole: the recipients pay the entire fee;
* otherwise there is no change, the excess goes to the fee, and the recipients pay only what
  it leaves.

A reduced payment below the dust threshold is refused with :class:`InvalidAmount` ("too small
to pay the fee"), as Core; adding coins would only raise the fee. The fee is worked out with
the payments at their asked values: lowering a value can only shorten its msgpack integer, so
the fee never falls short of ``rate * size`` and at a width boundary is a few bytes' worth
above it (``Selection.size`` is the signed size, exact).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from consensus.transaction import OutPoint, TxOut
from wallet.amounts import format_amount
from wallet.coinselect import (
    DUST_RELAY_FEE_RATE,
    FeePolicy,
    Selection,
    SpendableCoin,
    check_payments,
    dust_threshold,
    unique_coins,
)
from wallet.errors import InsufficientFunds, InvalidAmount
from wallet.txsize import signed_tx_size

__all__ = ["SUBTRACT_FEE", "reduce_payments", "select_subtracting_fee"]

SUBTRACT_FEE = "subtract_fee"
"""``Selection.algorithm`` of these selections."""


def select_subtracting_fee(
    coins: Iterable[SpendableCoin],
    payments: Sequence[TxOut],
    fee: FeePolicy | int,
    change_lock: bytes,
    subtract_from: Sequence[int],
    *,
    exclude: Collection[OutPoint] = frozenset(),
    dust_relay_fee_rate: int = DUST_RELAY_FEE_RATE,
    locktime: int = 0,
) -> Selection:
    """Choose coins to pay ``payments``, the fee taken from the payments ``subtract_from``
    names; the returned selection's ``payments`` are the reduced ones, in the same order.

    Raises :class:`InsufficientFunds` when every usable coin together is below the payments,
    :class:`InvalidAmount` for a bad payment or index, or a payment left below the dust
    threshold by its share of the fee.
    """
    policy = fee if isinstance(fee, FeePolicy) else FeePolicy(fee)
    payments = tuple(payments)
    amount = check_payments(payments, dust_relay_fee_rate)
    payers = _check_payers(subtract_from, len(payments))
    ordered = sorted(
        (coin for coin in unique_coins(coins) if coin.outpoint not in exclude),
        key=lambda coin: (-coin.value, coin.outpoint.key()),
    )
    total = 0
    for count, coin in enumerate(ordered, start=1):
        total += coin.value
        if total >= amount:
            chosen = ordered[:count]
            return _split(
                chosen,
                total,
                payments,
                amount,
                policy,
                change_lock,
                payers,
                locktime,
                dust_relay_fee_rate,
            )
    raise InsufficientFunds(
        total,
        amount,
        f"insufficient funds: {format_amount(total)} coins available,"
        f" {format_amount(amount)} needed (the fee is taken from the amount)",
    )


def _check_payers(subtract_from: Sequence[int], count: int) -> tuple[int, ...]:
    payers = tuple(subtract_from)
    if not payers:
        raise InvalidAmount("name at least one payment to take the fee from")
    if len(set(payers)) != len(payers) or not all(0 <= index < count for index in payers):
        raise InvalidAmount(f"payments to take the fee from must be distinct, 0..{count - 1}")
    return payers


def _split(
    chosen: Sequence[SpendableCoin],
    total: int,
    payments: tuple[TxOut, ...],
    amount: int,
    policy: FeePolicy,
    change_lock: bytes,
    payers: tuple[int, ...],
    locktime: int,
    dust_relay_fee_rate: int,
) -> Selection:
    """The selection spending ``chosen`` (worth ``total`` >= ``amount``): change or not, and
    the payers' reduced payments."""
    outpoints = [coin.outpoint for coin in chosen]
    excess = total - amount
    change = excess if excess >= dust_threshold(change_lock, dust_relay_fee_rate) else 0
    outputs = [*payments, TxOut(change, change_lock)] if change else list(payments)
    needed = policy.fee_for_size(signed_tx_size(outpoints, outputs, locktime=locktime))
    owed = max(0, needed - (excess - change))
    reduced = reduce_payments(payments, payers, owed, dust_relay_fee_rate)
    final = [*reduced, TxOut(change, change_lock)] if change else reduced
    size = signed_tx_size(outpoints, final, locktime=locktime)
    fee = total - sum(payment.value for payment in reduced) - change
    return Selection(tuple(chosen), tuple(reduced), change, fee, size, SUBTRACT_FEE)


def reduce_payments(
    payments: Sequence[TxOut],
    payers: Iterable[int],
    owed: int,
    dust_relay_fee_rate: int = DUST_RELAY_FEE_RATE,
) -> list[TxOut]:
    """``payments`` with ``owed`` units taken from those ``payers`` names (indexes), split
    equally, the first named paying what does not divide. :class:`InvalidAmount` when one
    would fall below the dust threshold."""
    payers = tuple(payers)
    share, remainder = divmod(owed, len(payers))
    reduced = list(payments)
    for position, index in enumerate(payers):
        payment = payments[index]
        value = payment.value - share - (remainder if position == 0 else 0)
        dust = dust_threshold(payment.lock, dust_relay_fee_rate)
        if value < dust:
            raise InvalidAmount(
                f"the payment of {format_amount(payment.value)} is too small to pay its share"
                f" of {format_amount(owed)} in fees: {format_amount(value)} would be left,"
                f" below the dust threshold of {format_amount(dust)}"
            )
        reduced[index] = TxOut(value, payment.lock)
    return reduced
