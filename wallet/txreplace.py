"""Replacements for our unconfirmed transactions (fee bumps): :func:`bump_fee` (the same
payments, the extra fee from the change or added inputs: Electrum's "preserve payment"),
:func:`bump_decreasing` (the payments pay it: "decrease payment"), :func:`bump_sweep` (a send
of everything, or its cancellation), and :func:`check_replacement`.

May import ``consensus`` and ``wallet`` modules (coinselect, errors, feefromamount, keys,
txbuild, txsize). No I/O, as :mod:`wallet.txbuild`.

Seedchain relays full RBF (Bitcoin Core's rules without the opt-in signal: any unconfirmed
transaction may be replaced). A replacement spends every input of the original and pays
``fee >= old_fee + incremental_relay_rate * new_size`` at a fee rate strictly above the
original's.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from consensus.transaction import OutPoint, Transaction, TxOut
from wallet.coinselect import FeePolicy, Selection, SpendableCoin, select_all, select_coins
from wallet.errors import FeeBumpError, InvalidAmount
from wallet.feefromamount import reduce_payments
from wallet.keys import KeyId, KeySource
from wallet.txbuild import BuiltTransaction, assemble
from wallet.txsize import signed_tx_size

INCREMENTAL_RELAY_FEE_RATE = 1
"""Units per byte a replacement must add on top of the fee it replaces (Core's default is
1 sat/vB); keep in step with the node's mempool policy."""


def bump_fee(
    original: Transaction,
    spent: Sequence[SpendableCoin],
    new_fee_rate: int,
    keys: KeySource,
    chain_id: bytes,
    *,
    change_vout: int | None,
    change_key: KeyId,
    coins: Iterable[SpendableCoin] = (),
    exclude: Collection[OutPoint] = frozenset(),
    incremental_fee_rate: int = INCREMENTAL_RELAY_FEE_RATE,
    descendant_fees: int = 0,
) -> BuiltTransaction:
    """A replacement for our unconfirmed ``original`` paying ``new_fee_rate`` units/byte.

    ``spent`` are the coins ``original`` spends, in its input order; ``change_vout`` is the
    position of our change output in ``original`` (None: it has none) and ``change_key`` the
    key the replacement's change goes to (the original change's key, or a fresh one).
    ``coins`` may be added as inputs if the original's are not enough: pass confirmed coins
    only (a replacement may not add unconfirmed inputs). Raises :class:`FeeBumpError` when the
    rate is not higher than the original's, and ``InsufficientFunds`` when even added coins
    cannot pay. ``descendant_fees`` is the fee of our unconfirmed transactions that spend
    ``original``'s outputs: the replacement evicts them too, so it must outbid them as well.
    """
    old_fee = _fee_to_outbid(original, spent, new_fee_rate)
    change_lock = keys.by_id(change_key).lock
    payments, _ = _payments_and_change(original, change_vout, change_lock)
    replaced_fees = old_fee + descendant_fees
    policy = FeePolicy(new_fee_rate, floor=replaced_fees, floor_rate=incremental_fee_rate)
    original_txid = original.txid
    addable = [coin for coin in coins if coin.outpoint.txid != original_txid]  # not its own change
    selection = select_coins(
        addable,
        payments,
        policy,
        change_lock,
        exclude=set(exclude) | set(original.inputs),
        preset=spent,
        locktime=original.locktime,
    )
    built = assemble(keys, selection, (change_lock, change_key), chain_id, original.locktime)
    return _checked(built, original, old_fee, incremental_fee_rate, replaced_fees)


def bump_sweep(
    original: Transaction,
    spent: Sequence[SpendableCoin],
    new_fee_rate: int,
    keys: KeySource,
    chain_id: bytes,
    *,
    incremental_fee_rate: int = INCREMENTAL_RELAY_FEE_RATE,
    descendant_fees: int = 0,
    to_lock: bytes | None = None,
) -> BuiltTransaction:
    """A replacement for a send of everything (:func:`build_sweep`): the same coins to the
    same one output, which pays the higher fee (Electrum's "decrease payment"); the fee rules
    are :func:`bump_fee`'s. With ``to_lock``, the one output goes there instead, whatever the
    original paid: Electrum's "cancel (double-spend)", which sends the coins back to us.
    Raises :class:`FeeBumpError` for a rate not above the original's or (without
    ``to_lock``) an original with more than one output, ``InsufficientFunds`` when the output
    would fall below dust."""
    if to_lock is None and len(original.outputs) != 1:
        raise FeeBumpError("only a transaction with one output can pay its bump from it")
    old_fee = _fee_to_outbid(original, spent, new_fee_rate)
    replaced_fees = old_fee + descendant_fees
    policy = FeePolicy(new_fee_rate, floor=replaced_fees, floor_rate=incremental_fee_rate)
    lock = original.outputs[0].lock if to_lock is None else to_lock
    selection = select_all(spent, lock, policy, locktime=original.locktime)
    built = assemble(keys, selection, None, chain_id, original.locktime)
    return _checked(built, original, old_fee, incremental_fee_rate, replaced_fees)


def bump_decreasing(
    original: Transaction,
    spent: Sequence[SpendableCoin],
    new_fee_rate: int,
    keys: KeySource,
    chain_id: bytes,
    *,
    change_vout: int | None,
    change_key: KeyId | None,
    incremental_fee_rate: int = INCREMENTAL_RELAY_FEE_RATE,
    descendant_fees: int = 0,
) -> BuiltTransaction:
    """A replacement for ``original`` with the same inputs and change whose payments pay the
    higher fee (Electrum's "decrease payment"): the increase is split equally among them, the
    first paying what does not divide, as :mod:`wallet.feefromamount` does. For a send whose
    recipients paid the fee, and for bumping when no other coin can. The fee rules are
    :func:`bump_fee`'s; ``FeeBumpError`` when a payment would fall below dust."""
    old_fee = _fee_to_outbid(original, spent, new_fee_rate)
    change_lock = None if change_key is None else keys.by_id(change_key).lock
    payments, change_out = _payments_and_change(original, change_vout, change_lock)
    kept = [] if change_out is None else [change_out]  # the change, as it was
    replaced_fees = old_fee + descendant_fees
    policy = FeePolicy(new_fee_rate, floor=replaced_fees, floor_rate=incremental_fee_rate)
    outpoints = [coin.outpoint for coin in spent]
    locktime = original.locktime
    # At the old values: lower ones can only shorten the outputs, so this fee is enough.
    increase = policy.fee_for_size(signed_tx_size(outpoints, original.outputs, locktime=locktime))
    increase -= old_fee
    try:
        reduced = reduce_payments(payments, range(len(payments)), increase)
    except InvalidAmount as error:
        raise FeeBumpError(f"cannot decrease the payments: {error}") from None
    size = signed_tx_size(outpoints, [*reduced, *kept], locktime=locktime)
    change_value = kept[0].value if kept else 0
    fee = old_fee + increase
    selection = Selection(tuple(spent), tuple(reduced), change_value, fee, size, "decrease")
    change = None if change_key is None or not kept else (kept[0].lock, change_key)
    built = assemble(keys, selection, change, chain_id, locktime)
    return _checked(built, original, old_fee, incremental_fee_rate, replaced_fees)


def _payments_and_change(
    original: Transaction, change_vout: int | None, change_lock: bytes | None
) -> tuple[list[TxOut], TxOut | None]:
    """``original``'s payments and its change output (None when ``change_vout`` is);
    ``FeeBumpError`` when the output at ``change_vout`` is not ours or only change is paid."""
    payments = list(original.outputs)
    change = None
    if change_vout is not None:
        if not 0 <= change_vout < len(payments) or payments[change_vout].lock != change_lock:
            raise FeeBumpError(f"output {change_vout} of the original is not its change")
        change = payments.pop(change_vout)
    if not payments:
        raise FeeBumpError("the transaction to replace pays nothing but change")
    return payments, change


def _checked(
    built: BuiltTransaction,
    original: Transaction,
    old_fee: int,
    incremental_fee_rate: int,
    replaced_fees: int,
) -> BuiltTransaction:
    """``built``, once :func:`check_replacement` has passed it as a replacement of
    ``original``."""
    check_replacement(
        old_fee, original.size, built.fee, built.tx.size, incremental_fee_rate, replaced_fees
    )
    return built


def _fee_to_outbid(original: Transaction, spent: Sequence[SpendableCoin], new_fee_rate: int) -> int:
    """The fee ``original`` pays (``spent`` being its coins, in input order); ``FeeBumpError``
    unless ``new_fee_rate`` is above its rate. Both kinds of bump start here."""
    if tuple(coin.outpoint for coin in spent) != original.inputs:
        raise FeeBumpError("the coins given are not the inputs of the transaction to replace")
    old_fee = sum(coin.value for coin in spent) - original.total_out()
    if new_fee_rate * original.size <= old_fee:
        raise FeeBumpError(
            f"fee rate {new_fee_rate} units/byte is not above the original's"
            f" {old_fee / original.size:.2f}; choose a higher rate"
        )
    return old_fee


def check_replacement(
    old_fee: int,
    old_size: int,
    new_fee: int,
    new_size: int,
    incremental_fee_rate: int,
    replaced_fees: int | None = None,
) -> None:
    """Raise :class:`FeeBumpError` unless a replacement pays for its own relay on top of
    the fees it replaces (``replaced_fees``: the original's and its descendants'; the
    original's alone by default) and has a fee rate strictly above the original's (Bitcoin
    Core's full-RBF rules 3, 4 and 6)."""
    replaced = old_fee if replaced_fees is None else replaced_fees
    if new_fee < replaced + incremental_fee_rate * new_size:
        raise FeeBumpError(
            f"replacement fee {new_fee} is below {replaced} + {incremental_fee_rate} x {new_size}"
        )
    if new_fee * old_size <= old_fee * new_size:
        raise FeeBumpError("replacement fee rate is not above the original's")
