"""Building our sends and fee bumps: :func:`send_payment` and :func:`bump_send`.

May import the standard library, ``consensus`` and ``wallet`` modules (never ``node``, ``p2p``,
``pool``, ``mining`` or ``seedchain``). The functions take an open
:class:`wallet.session.WalletSession` (used under the wallet's lock): they sync, select coins,
build and sign the transaction, then hand it to the session, which saves ``wallet.json`` with
the new pending send *before* broadcasting and puts the file back if the node refuses it
(:mod:`wallet.session` describes the steps).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from consensus.hashing import hash_to_hex
from consensus.transaction import OutPoint, Transaction
from wallet.coinselect import SpendableCoin
from wallet.errors import FeeBumpError, InvalidFeeBumpTarget
from wallet.history import CONFIRMED, CONFLICTED, WalletCoin, WalletView
from wallet.keys import CHANGE, KeyId
from wallet.metadata import PendingSend
from wallet.parsing import parse_address
from wallet.txbuild import BuiltTransaction, build_payment, bump_fee

if TYPE_CHECKING:
    from wallet.session import WalletSession


@dataclass(frozen=True)
class SendResult:
    txid: bytes
    amount: int
    address: str
    fee: int
    fee_rate: int
    size: int
    change: int | None
    inputs: tuple[OutPoint, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "txid": hash_to_hex(self.txid),
            "amount": self.amount,
            "address": self.address,
            "fee": self.fee,
            "fee_rate": self.fee_rate,
            "size": self.size,
            "change": self.change,
            "inputs": [str(outpoint) for outpoint in self.inputs],
        }


@dataclass(frozen=True)
class BumpResult:
    txid: bytes
    replaces: bytes
    fee: int
    old_fee: int
    fee_rate: int
    size: int

    def to_json(self) -> dict[str, object]:
        return {
            "txid": hash_to_hex(self.txid),
            "replaces": hash_to_hex(self.replaces),
            "fee": self.fee,
            "old_fee": self.old_fee,
            "fee_rate": self.fee_rate,
            "size": self.size,
        }


async def send_payment(
    session: WalletSession, address: str, amount: int, fee_rate: int | None = None
) -> SendResult:
    """Pay ``amount`` units to ``address`` (:meth:`wallet.session.WalletSession.send`): sync,
    select among spendable coins not reserved by a pending send, build, save, broadcast."""
    lock = parse_address(address, session.params)
    view = await session.sync()
    rate = fee_rate if fee_rate is not None else await session.estimate_fee_rate()
    meta = session.reconciled()
    coins = [_spendable(coin) for coin in view.spendable_coins()]
    built = build_payment(
        session.keychain,
        coins,
        lock,
        amount,
        rate,
        meta.next_change,
        session.params.chain_id,
        exclude=meta.reserved_outpoints(),
    )
    change_index = None if built.change_key is None else built.change_key.index
    send = _pending(built, change_index)
    updated = replace(
        meta,
        next_change=meta.next_change + (1 if built.change_vout is not None else 0),
        pending=list(meta.pending),
    )
    updated.add_pending(send)
    await session.commit_and_broadcast(updated, built)
    change = None if built.change_vout is None else built.tx.outputs[built.change_vout].value
    return SendResult(
        built.tx.txid,
        amount,
        address.strip(),
        built.fee,
        rate,
        built.tx.size,
        change,
        built.tx.inputs,
    )


async def bump_send(session: WalletSession, txid: bytes, fee_rate: int | None = None) -> BumpResult:
    """Replace our unconfirmed send ``txid`` by one paying ``fee_rate`` (default: the
    estimate, and at least one unit per byte above the original's rate)."""
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
    old_fee = original_send.fee
    minimum = old_fee // original.size + 1
    rate = max(await session.estimate_fee_rate(), minimum) if fee_rate is None else fee_rate
    fresh_change = original_send.change_index is None
    change_index = meta.next_change if fresh_change else original_send.change_index
    assert change_index is not None
    add = [
        _spendable(coin)
        for coin in view.spendable_coins()
        if coin.height is not None and coin.outpoint.txid != txid
    ]
    built = bump_fee(
        original,
        spent,
        rate,
        session.keychain,
        session.params.chain_id,
        change_vout=original_send.change_vout,
        change_key=KeyId(CHANGE, change_index),
        coins=add,
        exclude=meta.reserved_outpoints(),
    )
    new_change = None if built.change_key is None else built.change_key.index
    send = replace(_pending(built, new_change), replaces=txid)
    advance = 1 if fresh_change and built.change_vout is not None else 0
    updated = replace(meta, next_change=meta.next_change + advance, pending=list(meta.pending))
    updated.add_pending(send)
    await session.commit_and_broadcast(updated, built)
    return BumpResult(built.tx.txid, txid, built.fee, old_fee, rate, built.tx.size)


def _spendable(coin: WalletCoin) -> SpendableCoin:
    return SpendableCoin(coin.outpoint, coin.value, coin.lock, coin.key_id)


def _pending(built: BuiltTransaction, change_index: int | None) -> PendingSend:
    return PendingSend(
        txid=built.tx.txid,
        raw=built.tx.encoded,
        inputs=built.tx.inputs,
        fee=built.fee,
        created=int(time.time()),
        change_vout=built.change_vout,
        change_index=change_index,
    )


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
