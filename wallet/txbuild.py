"""Building and signing our transactions: payments, sends of everything, children that pay
for their parent; :func:`assemble` also signs the fee bumps of :mod:`wallet.txreplace`.

May import ``consensus`` (transaction, signing) and ``wallet`` modules (coinselect, errors,
feefromamount, keys). No I/O: coins come in as arguments and the signed transaction goes out;
broadcasting and remembering it are the caller's business.

Inputs are sorted by outpoint and outputs by ``(value, lock)`` (BIP 69's idea), so the
change output's position says nothing and the same selection always gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace

from consensus.signing import sign_transaction
from consensus.transaction import OutPoint, Transaction, TxOut, Witness
from wallet.coinselect import FeePolicy, Selection, SpendableCoin, select_all, select_coins
from wallet.errors import FeeBumpError, WalletError
from wallet.feefromamount import select_subtracting_fee
from wallet.keys import CHANGE, KeyId, KeySource

TX_VERSION = 1


@dataclass(frozen=True)
class BuiltTransaction:
    """A signed transaction of ours and what went into it."""

    tx: Transaction
    fee: int
    coins: tuple[SpendableCoin, ...]  # in input order
    change_vout: int | None
    change_key: KeyId | None
    signed: bool = True  # False: a watch-only wallet's, with placeholder signatures

    @property
    def spent_outputs(self) -> list[TxOut]:
        return [TxOut(coin.value, coin.lock) for coin in self.coins]

    @property
    def inputs(self) -> frozenset[OutPoint]:
        return frozenset(self.tx.inputs)

    def paid(self) -> dict[bytes, int]:
        """The value of each output but the change, by lock."""
        outputs = self.tx.outputs
        return {out.lock: out.value for vout, out in enumerate(outputs) if vout != self.change_vout}


def build_payment(
    keys: KeySource,
    coins: Iterable[SpendableCoin],
    recipient_lock: bytes,
    amount: int,
    fee_rate: int,
    change_index: int,
    chain_id: bytes,
    *,
    exclude: Collection[OutPoint] = frozenset(),
    locktime: int = 0,
) -> BuiltTransaction:
    """Pay ``amount`` to ``recipient_lock``: :func:`build_payments` with one payment."""
    return build_payments(
        keys,
        coins,
        [TxOut(amount, recipient_lock)],
        fee_rate,
        change_index,
        chain_id,
        exclude=exclude,
        locktime=locktime,
    )


def build_sweep(
    keys: KeySource,
    coins: Iterable[SpendableCoin],
    recipient_lock: bytes,
    fee_rate: int,
    chain_id: bytes,
    *,
    exclude: Collection[OutPoint] = frozenset(),
    locktime: int = 0,
) -> BuiltTransaction:
    """Send every coin not in ``exclude`` to ``recipient_lock``, less the fee, without change
    (:func:`wallet.coinselect.select_all`); sign for ``chain_id``."""
    selection = select_all(coins, recipient_lock, fee_rate, exclude=exclude, locktime=locktime)
    return assemble(keys, selection, None, chain_id, locktime)


def build_payments(
    keys: KeySource,
    coins: Iterable[SpendableCoin],
    payments: Sequence[TxOut],
    fee_rate: int,
    change_index: int,
    chain_id: bytes,
    *,
    exclude: Collection[OutPoint] = frozenset(),
    locktime: int = 0,
    subtract_fee_from: Sequence[int] = (),
) -> BuiltTransaction:
    """Pay each of ``payments`` from ``coins`` at ``fee_rate`` units/byte, change (if any) to
    the change key ``change_index``; sign for ``chain_id``. With ``subtract_fee_from``
    (indexes into ``payments``) those payments pay the fee
    (:func:`wallet.feefromamount.select_subtracting_fee`).

    Raises :class:`~wallet.errors.InsufficientFunds`, :class:`~wallet.errors.InvalidAmount`
    or :class:`~wallet.errors.InvalidFeeRate` from coin selection. Coins in ``exclude`` are
    never spent. The caller advances its next change index when ``change_vout`` is not None.
    """
    change_key = KeyId(CHANGE, change_index)
    change_lock = keys.by_id(change_key).lock
    if subtract_fee_from:
        selection = select_subtracting_fee(
            coins,
            payments,
            fee_rate,
            change_lock,
            subtract_fee_from,
            exclude=exclude,
            locktime=locktime,
        )
    else:
        selection = select_coins(
            coins, payments, fee_rate, change_lock, exclude=exclude, locktime=locktime
        )
    return assemble(keys, selection, (change_lock, change_key), chain_id, locktime)


def assemble(
    keys: KeySource,
    selection: Selection,
    change: tuple[bytes, KeyId] | None,
    chain_id: bytes,
    locktime: int,
) -> BuiltTransaction:
    """Order, sign and check the transaction a selection describes; ``change`` is the lock
    and key of its change output (None for a selection that cannot have one)."""
    coins = sorted(selection.coins, key=lambda coin: coin.outpoint.key())
    outputs = list(selection.payments)
    if selection.change:
        if change is None:
            raise AssertionError("a change output without a change key")
        outputs.append(TxOut(selection.change, change[0]))
    order = sorted(range(len(outputs)), key=lambda i: (outputs[i].value, outputs[i].lock))
    change_vout = order.index(len(outputs) - 1) if selection.change else None
    wallet_keys = []
    for coin in coins:
        key = keys.by_id(coin.key_id)
        if key.lock != coin.lock:
            raise WalletError(f"coin {coin.outpoint} is not locked to our key {coin.key_id}")
        wallet_keys.append(key)
    unsigned = Transaction(
        TX_VERSION,
        tuple(coin.outpoint for coin in coins),
        tuple(outputs[i] for i in order),
        locktime,
    )
    signed = all(key.private_key for key in wallet_keys)
    if signed:
        tx = sign_transaction(
            unsigned,
            [key.private_key for key in wallet_keys],
            [TxOut(coin.value, coin.lock) for coin in coins],
            chain_id,
        )
    else:  # watch-only: the signatures' places are held, so size and fee are final
        tx = with_placeholders(unsigned, [key.public_key for key in wallet_keys])
    if tx.size != selection.size:
        raise AssertionError(f"size estimate {selection.size} != signed size {tx.size}")
    fee = sum(coin.value for coin in coins) - tx.total_out()
    if fee != selection.fee:
        raise AssertionError(f"fee {fee} != selected fee {selection.fee}")
    change_key = None if change_vout is None or change is None else change[1]
    return BuiltTransaction(tx, fee, tuple(coins), change_vout, change_key, signed)


PLACEHOLDER_SIGNATURE = bytes(64)


def is_signed(tx: Transaction) -> bool:
    """Whether no witness of ``tx`` holds a placeholder (:func:`with_placeholders`)."""
    return all(w.signature != PLACEHOLDER_SIGNATURE for w in tx.witnesses)


def with_placeholders(tx: Transaction, public_keys: Sequence[bytes]) -> Transaction:
    """``tx`` with each input's witness holding its public key and 64 zero bytes where the
    signature goes: an unsigned transaction of the final size and txid (``wallet.offline``)."""
    witnesses = tuple(Witness(pub, PLACEHOLDER_SIGNATURE) for pub in public_keys)
    return tx.with_witnesses(witnesses)


def build_cpfp(
    keys: KeySource,
    coins: Sequence[SpendableCoin],
    parent_fee: int,
    parent_size: int,
    package_fee_rate: int,
    change_index: int,
    chain_id: bytes,
    locktime: int = 0,
) -> BuiltTransaction:
    """A child that spends ``coins`` (our outputs of an unconfirmed parent) to our change key
    ``change_index`` with the fee that lifts parent and child together to
    ``package_fee_rate``: ``rate * (parent_size + child_size) - parent_fee`` (Electrum's
    "child pays for parent"; the node's block template selects by package fee rate). The one
    output is the change (``change_vout`` 0)."""
    change_key = KeyId(CHANGE, change_index)
    change_lock = keys.by_id(change_key).lock
    topping = package_fee_rate * parent_size - parent_fee
    if topping <= 0:
        raise FeeBumpError(
            f"the parent already pays {parent_fee / parent_size:.2f} units/byte, at least the"
            f" {package_fee_rate} asked: a child adds nothing"
        )
    policy = FeePolicy(package_fee_rate, floor=topping, floor_rate=package_fee_rate)
    selection = select_all(coins, change_lock, policy, locktime=locktime)
    built = assemble(keys, selection, None, chain_id, locktime)
    return replace(built, change_vout=0, change_key=change_key)
