"""Replacing our unconfirmed sends (full RBF): :func:`bump_send` (a higher fee, Electrum's
"preserve payment" or, with ``decrease_payment``, "decrease payment") and :func:`cancel_send`
(Electrum's "cancel (double-spend)").

May import the standard library, ``consensus`` and ``wallet`` modules (never ``node``, ``p2p``,
``pool``, ``mining`` or ``seedchain``). Like :mod:`wallet.sending`, the functions take an open
:class:`wallet.session.WalletSession` (used under the wallet's lock): they sync, find the send
to replace and the coins it spends, build the replacement (:mod:`wallet.txreplace`) and hand it
to the session, which saves ``wallet.json`` before broadcasting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from consensus.hashing import hash_to_hex
from consensus.transaction import Transaction
from wallet.coinselect import SpendableCoin
from wallet.errors import FeeBumpError, InvalidFeeBumpTarget
from wallet.history import CONFIRMED, CONFLICTED, WalletView
from wallet.keys import CHANGE, KeyId
from wallet.metadata import PendingSend, WalletMetadata
from wallet.results import BumpResult
from wallet.sending import draft, pending_send, rate_or_estimate, spendable
from wallet.txbuild import BuiltTransaction
from wallet.txreplace import bump_decreasing, bump_fee, bump_sweep

if TYPE_CHECKING:
    from wallet.session import WalletSession


async def _replaceable(
    session: WalletSession, txid: bytes
) -> tuple[WalletView, WalletMetadata, PendingSend, Transaction, list[SpendableCoin]]:
    """Our unconfirmed send ``txid`` and what replacing it needs: the view, the metadata, the
    pending send, the transaction and the coins it spends (in input order).
    ``InvalidFeeBumpTarget`` / ``FeeBumpError`` when it cannot be replaced."""
    view = await session.sync(rebroadcast=False)
    meta = session.reconciled()
    state = view.sends.get(txid)
    original_send = next((p for p in meta.pending if p.txid == txid), None)
    shown = hash_to_hex(txid)
    if state is None or original_send is None:
        if state is not None and state.status == CONFIRMED:
            raise InvalidFeeBumpTarget(f"transaction {shown} is already confirmed")
        if state is not None and state.status == CONFLICTED:
            raise InvalidFeeBumpTarget(f"transaction {shown} is conflicted: nothing to bump")
        if txid in view.txs:
            raise InvalidFeeBumpTarget(
                f"transaction {shown} was not sent by this wallet from here"
                " (only pending sends of this wallet can be bumped)"
            )
        raise InvalidFeeBumpTarget(f"no pending send {shown} in this wallet")
    original = Transaction.decode(original_send.raw)
    _check_no_descendants(original, meta.pending, view)
    spent = []
    for outpoint in original.inputs:
        out = view.output(outpoint)
        key_id = None if out is None else view.owned.get(out.lock)
        if out is None or key_id is None:
            raise FeeBumpError(
                f"cannot find the coin {outpoint} that {shown} spends; it cannot be bumped"
            )
        spent.append(SpendableCoin(outpoint, out.value, out.lock, key_id))
    return view, meta, original_send, original, spent


async def bump_send(
    session: WalletSession,
    txid: bytes,
    fee_rate: int | None = None,
    *,
    unsigned: bool = False,
    decrease_payment: bool = False,
) -> BumpResult:
    """Replace our unconfirmed send ``txid`` by one paying ``fee_rate`` (default: the
    estimate, and at least one unit per byte above the original's rate); ``unsigned``: only
    return the replacement's transaction file (:func:`_replace`). The extra fee comes from the
    change, then from added confirmed coins; with ``decrease_payment`` (Electrum's "decrease
    payment"), and always for a send of everything, from the payments, with the same inputs
    and change."""
    view, meta, original_send, original, spent = await _replaceable(session, txid)
    old_fee = original_send.fee
    rate = await rate_or_estimate(session, fee_rate, old_fee // original.size + 1)
    fresh_change = original_send.change_index is None
    change_index = meta.next_change if fresh_change else original_send.change_index
    assert change_index is not None
    keys, chain_id = session.keychain, session.params.chain_id
    if original_send.sweep:
        built = bump_sweep(original, spent, rate, keys, chain_id)
    elif decrease_payment:
        change_vout = original_send.change_vout
        change_key = None if change_vout is None else KeyId(CHANGE, change_index)
        built = bump_decreasing(
            original, spent, rate, keys, chain_id, change_vout=change_vout, change_key=change_key
        )
    else:
        add = [
            spendable(coin)
            for coin in view.spendable_coins()
            if coin.height is not None and coin.outpoint.txid != txid
        ]
        built = bump_fee(
            original,
            spent,
            rate,
            keys,
            chain_id,
            change_vout=original_send.change_vout,
            change_key=KeyId(CHANGE, change_index),
            coins=add,
            exclude=meta.reserved_outpoints(),
        )
    new_change = None if built.change_key is None else built.change_key.index
    send = replace(pending_send(built, new_change), replaces=txid, sweep=original_send.sweep)
    advance = 1 if fresh_change and built.change_vout is not None else 0
    document = await _replace(session, meta, built, send, advance, unsigned=unsigned)
    return BumpResult(built.tx.txid, txid, built.fee, old_fee, rate, built.tx.size, document)


async def cancel_send(
    session: WalletSession, txid: bytes, fee_rate: int | None = None, *, unsigned: bool = False
) -> BumpResult:
    """Electrum's "cancel (double-spend)": replace our unconfirmed send ``txid`` by one that
    spends the same coins back to a fresh change address of ours, at ``fee_rate`` (default:
    the estimate, and at least one unit per byte above the original's rate). If it confirms
    first, the payment never happens. The replacement is a one-output send, so ``bump`` can
    raise its fee again."""
    _view, meta, original_send, original, spent = await _replaceable(session, txid)
    old_fee = original_send.fee
    rate = await rate_or_estimate(session, fee_rate, old_fee // original.size + 1)
    back_to = session.keychain.key(CHANGE, meta.next_change).lock
    built = bump_sweep(
        original, spent, rate, session.keychain, session.params.chain_id, to_lock=back_to
    )
    send = replace(pending_send(built, None), replaces=txid, sweep=True)
    document = await _replace(session, meta, built, send, 1, unsigned=unsigned)
    return BumpResult(built.tx.txid, txid, built.fee, old_fee, rate, built.tx.size, document)


async def _replace(
    session: WalletSession,
    meta: WalletMetadata,
    built: BuiltTransaction,
    send: PendingSend,
    advance: int,
    *,
    unsigned: bool,
) -> bytes | None:
    """Record the replacement ``built`` as the pending ``send`` (``advance``: change keys it
    takes) and broadcast it; or (``unsigned``) save only the change index and return its
    transaction file, to sign elsewhere (``broadcast`` then records it, replacing the original)."""
    if unsigned:
        return draft(session, meta, built, advance, send.sweep, send.replaces)
    updated = replace(meta, next_change=meta.next_change + advance, pending=list(meta.pending))
    updated.add_pending(send)
    await session.commit_and_broadcast(updated, built)
    return None


def _check_no_descendants(
    original: Transaction, pending: Sequence[PendingSend], view: WalletView
) -> None:
    """Refuse to bump a transaction whose outputs our other unconfirmed sends spend (the
    replacement would evict them), as Bitcoin Core's ``bumpfee`` does."""
    txid = original.txid
    for send in pending:
        if send.txid != txid and any(outpoint.txid == txid for outpoint in send.inputs):
            raise FeeBumpError(
                f"transaction {original.txid_hex} has an unconfirmed descendant in this wallet"
                f" ({hash_to_hex(send.txid)}); wait for it to confirm"
            )
    for tx in view.txs.values():
        if tx.confirmed or tx.txid == txid:
            continue
        if any(vin.outpoint.txid == txid for vin in tx.inputs):
            raise FeeBumpError(
                f"transaction {original.txid_hex} has an unconfirmed descendant"
                f" ({tx.txid_hex}); a replacement would evict it"
            )
