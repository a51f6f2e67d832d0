"""Reward schemes and the coinbase split: pure functions over integers, no I/O.

Standard library only. docs/pool.md states the formulas; tests/unit/pool/test_pool_rewards.py
checks them. Every amount is an integer of base units and every split sums exactly to what it
splits:

* :func:`largest_remainder` splits ``total`` in proportion to integer weights: each gets
  ``floor(total * w / W)``, and the ``total - sum`` units left over go one each to the largest
  remainders ``total * w mod W`` (ties: the smaller address first).
* Weights: PPLNS (:func:`pplns_weights`) counts the newest shares' work until it reaches the
  window ``N * block work`` (the oldest share in it counts only the part that fits); PROP
  (:func:`prop_weights`) counts every share of the round; SOLO gives the finder everything.
* :func:`split_reward` takes the operator fee ``floor(reward * fee_ppm / 10**6)`` first and
  splits the rest by weight; with no weights at all everything goes to the operator.
* :func:`coinbase_payout` turns a split plus the carried (owed) balances into coinbase outputs:
  an address whose due ``split + carried`` reaches the dust threshold is paid all of it; below
  the threshold the split is added to its carried balance instead. The operator's output is
  what is left (``reward - sum(paid outputs)``), so it holds the carried float; payees are
  deferred (largest carried balance first) if paying them would need more than the reward, and
  beyond ``max_outputs`` (smallest dues first).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

PPM = 1_000_000
SCHEMES = ("pplns", "prop", "solo")


@dataclass(frozen=True, slots=True)
class ShareWork:
    """A logged share as the schemes see it: its id (log order), payout address and work."""

    share_id: int
    address: str
    work: int


@dataclass(frozen=True, slots=True)
class Credit:
    """What one block does for one miner: ``amount`` (its split) = ``paid`` (its coinbase
    output) + ``carry_delta`` (the change of its carried balance)."""

    address: str
    amount: int
    paid: int
    carry_delta: int


@dataclass(frozen=True, slots=True)
class Payout:
    """A coinbase's outputs (miners sorted by address, then the operator) and the credits."""

    reward: int
    operator_amount: int  # the operator's split: its fee (and its own mining, if it mines)
    operator: str
    operator_paid: int
    outputs: tuple[tuple[str, int], ...]
    credits: tuple[Credit, ...]

    def paid_to(self, address: str) -> int:
        return sum(value for addr, value in self.outputs if addr == address)


def fee_ppm_from_percent(text: str | Decimal) -> int:
    """``--fee PERCENT`` (a decimal like ``1.5``) in parts per million; ``ValueError`` outside
    0..100 or finer than 0.0001 %."""
    try:
        percent = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"fee {text!r} is not a number") from None
    if not percent.is_finite() or not 0 <= percent <= 100:
        raise ValueError(f"fee {text} must be between 0 and 100 percent")
    ppm = percent * 10_000
    if ppm != ppm.to_integral_value():
        raise ValueError(f"fee {text} is finer than 0.0001 percent")
    return int(ppm)


def largest_remainder(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split ``total`` by ``weights`` (positive weights only take part); sums to ``total``
    unless no weight is positive (then ``{}``)."""
    if total < 0:
        raise ValueError("cannot split a negative amount")
    positive = {address: w for address, w in weights.items() if w > 0}
    if not positive:
        return {}
    whole = sum(positive.values())
    shares = {address: total * w // whole for address, w in positive.items()}
    remainders = {address: total * w % whole for address, w in positive.items()}
    left = total - sum(shares.values())
    for address in sorted(positive, key=lambda a: (-remainders[a], a))[:left]:
        shares[address] += 1
    return shares


def pplns_weights(newest_first: Iterable[ShareWork], window: int) -> dict[str, int]:
    """Work per address of the newest shares up to ``window`` work in total."""
    weights: dict[str, int] = {}
    remaining = window
    for share in newest_first:
        if remaining <= 0:
            break
        counted = min(share.work, remaining)
        weights[share.address] = weights.get(share.address, 0) + counted
        remaining -= counted
    return weights


def prop_weights(shares: Iterable[ShareWork]) -> dict[str, int]:
    """Work per address of every share given (the round)."""
    weights: dict[str, int] = {}
    for share in shares:
        weights[share.address] = weights.get(share.address, 0) + share.work
    return weights


def operator_fee(reward: int, fee_ppm: int) -> int:
    if not 0 <= fee_ppm <= PPM:
        raise ValueError("fee_ppm must be within 0..1000000")
    return reward * fee_ppm // PPM


def split_reward(
    reward: int, fee_ppm: int, weights: Mapping[str, int]
) -> tuple[dict[str, int], int]:
    """``(miner amounts, operator amount)``: the fee first, the rest by weight; all to the
    operator when nobody has weight. The two always sum to ``reward``."""
    fee = operator_fee(reward, fee_ppm)
    miners = largest_remainder(reward - fee, weights)
    if not miners:
        return {}, reward
    return miners, fee


def coinbase_payout(
    reward: int,
    miner_amounts: Mapping[str, int],
    operator_amount: int,
    carried: Mapping[str, int],
    operator: str,
    dust: int,
    max_outputs: int,
) -> Payout:
    """The coinbase outputs and credits for a split (see the module docstring)."""
    if sum(miner_amounts.values()) + operator_amount != reward:
        raise ValueError("the split does not sum to the reward")
    if max_outputs < 1:
        raise ValueError("max_outputs must be >= 1")
    amounts = dict(miner_amounts)
    op_amount = operator_amount + amounts.pop(operator, 0)  # the operator is never carried
    addresses = sorted(
        set(amounts) | {a for a, value in carried.items() if value and a != operator}
    )
    due = {a: amounts.get(a, 0) + carried.get(a, 0) for a in addresses}
    paid = {a for a in addresses if due[a] >= dust and due[a] > 0}
    room = max_outputs - 1  # one output is kept for the operator
    if len(paid) > room:
        paid = set(sorted(paid, key=lambda a: (-due[a], a))[:room])
    # The operator's output funds carried balances paid out now; it cannot go negative.
    for address in sorted(paid, key=lambda a: (-carried.get(a, 0), a)):
        if sum(due[a] for a in paid) <= reward:
            break
        if carried.get(address, 0) > 0:
            paid.discard(address)
    operator_paid = reward - sum(due[a] for a in paid)
    credits = tuple(
        Credit(
            address=a,
            amount=amounts.get(a, 0),
            paid=due[a] if a in paid else 0,
            carry_delta=(0 if a in paid else due[a]) - carried.get(a, 0),
        )
        for a in addresses
    )
    outputs = [(a, due[a]) for a in addresses if a in paid]
    if operator_paid > 0 or not outputs:  # a transaction needs at least one output
        outputs.append((operator, operator_paid))
    return Payout(reward, op_amount, operator, operator_paid, tuple(outputs), credits)
