"""Building our sends: :func:`send_payment` (one recipient), :func:`send_payments` (several),
:func:`send_all` (every coin); the pending-send bookkeeping they share with
:mod:`wallet.bumping` (fee bumps) and :mod:`wallet.cpfp`.

May import the standard library, ``consensus`` and ``wallet`` modules (never ``node``, ``p2p``,
``pool``, ``mining`` or ``seedchain``). The functions take an open
:class:`wallet.session.WalletSession` (used under the wallet's lock): they sync, select coins,
build and sign the transaction, then hand it to the session, which saves ``wallet.json`` with
the new pending send *before* broadcasting and puts the file back if the node refuses it
(:mod:`wallet.session` describes the steps).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from consensus.transaction import TxOut
from wallet.coincontrol import CoinChoice, chosen_coins
from wallet.coinselect import SpendableCoin
from wallet.errors import InsufficientFunds, InvalidAddress, InvalidAmount, InvalidInput
from wallet.history import WalletCoin
from wallet.metadata import PendingSend, WalletMetadata
from wallet.offline import Checked, unsigned_file
from wallet.parsing import parse_address
from wallet.results import SendResult
from wallet.txbuild import BuiltTransaction, build_payments, build_sweep
from wallet.watch import NEEDS_KEYS, WatchOnlyWallet

if TYPE_CHECKING:
    from wallet.session import WalletSession

T = TypeVar("T")


async def send_payment(
    session: WalletSession, address: str, amount: int, fee_rate: int | None = None
) -> SendResult:
    """Pay ``amount`` units to ``address``: :func:`send_payments` with one recipient."""
    return await send_payments(session, [(address, amount)], fee_rate)


async def send_payments(
    session: WalletSession,
    payments: Sequence[tuple[str, int]],
    fee_rate: int | None = None,
    *,
    dry_run: bool = False,
    only: CoinChoice | None = None,
    unsigned: bool = False,
    subtract_fee_from: Sequence[int] = (),
) -> SendResult:
    """Pay each ``(address, units)`` in one transaction
    (:meth:`wallet.session.WalletSession.send_many`): sync, select among spendable coins not
    reserved by a pending send (among the coins ``only`` names, if given), build, save,
    broadcast. An address may appear once (as Bitcoin Core's ``sendmany``). The payments
    ``subtract_fee_from`` names (indexes) pay the fee, split equally (Core's
    ``subtractfeefromamount``); the result then shows what they receive."""
    asked, outputs = _recipients(session, payments)
    coins, rate, meta = await _prepare(session, fee_rate, only)
    locktime = send_locktime(session)

    def build(usable: list[SpendableCoin]) -> BuiltTransaction:
        return build_payments(
            session.keychain,
            usable,
            outputs,
            rate,
            meta.next_change,
            session.params.chain_id,
            exclude=meta.reserved_outpoints(),
            locktime=locktime,
            subtract_fee_from=subtract_fee_from,
        )

    built = _preferring_confirmed(coins, build) if only is None else build(coins)
    received = built.paid()  # below the asked amounts where they paid the fee
    sent = tuple((a, received[out.lock]) for (a, _), out in zip(asked, outputs, strict=True))
    return await _finish(
        session,
        meta,
        built,
        sent,
        rate,
        dry_run=dry_run,
        unsigned=unsigned,
        fee_from_amount=bool(subtract_fee_from),
    )


async def send_all(
    session: WalletSession,
    address: str,
    fee_rate: int | None = None,
    *,
    dry_run: bool = False,
    only: CoinChoice | None = None,
    unsigned: bool = False,
) -> SendResult:
    """Send every spendable coin not reserved by a pending send (every coin ``only`` names, if
    given) to ``address``, the fee taken from the amount, with no change (Core's ``sendall``)."""
    lock = parse_address(address, session.params)
    coins, rate, meta = await _prepare(session, fee_rate, only)
    built = build_sweep(
        session.keychain,
        coins,
        lock,
        rate,
        session.params.chain_id,
        exclude=meta.reserved_outpoints(),
        locktime=send_locktime(session),
    )
    sent = ((address.strip(), built.tx.total_out()),)
    return await _finish(
        session, meta, built, sent, rate, sent_all=True, dry_run=dry_run, unsigned=unsigned
    )


async def rate_or_estimate(session: WalletSession, fee_rate: int | None, minimum: int = 1) -> int:
    """``fee_rate`` when given, else the node's estimate for 6 blocks, at least ``minimum``
    (a bump or a child must pay more than what it helps)."""
    if fee_rate is not None:
        return fee_rate
    return max(await session.estimate_fee_rate(), minimum)


async def _prepare(
    session: WalletSession, fee_rate: int | None, only: CoinChoice | None = None
) -> tuple[list[SpendableCoin], int, WalletMetadata]:
    """A send's start: sync, then the coins it may spend (those ``only`` names, when given),
    its fee rate and the metadata."""
    view = await session.sync()
    coins = view.spendable_coins() if only is None else chosen_coins(view, only)
    rate = await rate_or_estimate(session, fee_rate)
    return [spendable(coin) for coin in coins], rate, session.reconciled()


def _preferring_confirmed(
    coins: list[SpendableCoin], build: Callable[[list[SpendableCoin]], T]
) -> T:
    """``build`` from the confirmed ``coins`` alone when they are enough, else from all of
    them (Core's coin eligibility: our unconfirmed change only when confirmed coins fall short,
    so a send does not hang on an unconfirmed parent that may be bumped or dropped)."""
    confirmed = [coin for coin in coins if coin.confirmed]
    if len(confirmed) < len(coins):
        try:
            return build(confirmed)
        except InsufficientFunds:
            pass
    return build(coins)


def send_locktime(session: WalletSession, rng: random.Random | None = None) -> int:
    """The locktime of a new transaction of ours, after the session's sync: Bitcoin Core's and
    Electrum's anti-fee-sniping. The tip's height, so that it can only go in a block after the
    tip (a miner re-mining the tip to take its fees cannot also take ours); one time in ten,
    up to 99 blocks less, so that a transaction signed and broadcast late does not stand out;
    0 while the node is catching up or its tip is over 8 hours old."""
    scan = session.scan
    if scan is None or not scan.current:
        return 0
    rng = rng if rng is not None else random.SystemRandom()
    height = scan.tip_height
    if rng.randrange(10) == 0:
        height = max(0, height - rng.randrange(100))
    return height


async def _finish(
    session: WalletSession,
    meta: WalletMetadata,
    built: BuiltTransaction,
    payments: tuple[tuple[str, int], ...],
    rate: int,
    *,
    sent_all: bool = False,
    dry_run: bool = False,
    unsigned: bool = False,
    fee_from_amount: bool = False,
) -> SendResult:
    """Record ``built`` as a pending send and broadcast it; or, for a dry run, only ask the
    node's verdict (``POST /v1/tx/test``), saving, reserving and sending nothing; or
    (``unsigned``) write nothing but the advanced change index and return the transaction
    file to sign elsewhere (:mod:`wallet.offline`; its coins are reserved once it is
    broadcast)."""
    raw: bytes | None = None
    verdict: dict[str, Any] | None = None
    document: bytes | None = None
    if unsigned:  # the next transaction gets another change key
        document = draft(session, meta, built, 0 if built.change_vout is None else 1, sent_all)
    elif dry_run:
        if not built.signed:
            raise WatchOnlyWallet(NEEDS_KEYS)
        raw = built.tx.encoded
        verdict = await session.node.test_transaction(raw)
    else:
        await record_pending(session, meta, built, sweep=sent_all)
    change = None if built.change_vout is None else built.tx.outputs[built.change_vout].value
    tx = built.tx
    return SendResult(
        tx.txid,
        payments,
        built.fee,
        rate,
        tx.size,
        change,
        tx.inputs,
        sent_all,
        raw,
        verdict,
        document,
        sent_all or fee_from_amount,
    )


async def record_pending(
    session: WalletSession,
    meta: WalletMetadata,
    built: BuiltTransaction,
    *,
    sweep: bool = False,
    replaces: bytes | None = None,
) -> None:
    """Record ``built`` as a pending send (reserving its coins and, if it has change, its
    change key), save, broadcast (:meth:`WalletSession.commit_and_broadcast`)."""
    change_index = None if built.change_key is None else built.change_key.index
    send = replace(pending_send(built, change_index), sweep=sweep, replaces=replaces)
    next_change = meta.next_change if change_index is None else change_index + 1
    updated = replace(
        meta, next_change=max(meta.next_change, next_change), pending=list(meta.pending)
    )
    updated.add_pending(send)
    await session.commit_and_broadcast(updated, built)


def _recipients(
    session: WalletSession, payments: Sequence[tuple[str, int]]
) -> tuple[tuple[tuple[str, int], ...], list[TxOut]]:
    """The payments as asked (addresses stripped) and as outputs; an address given twice
    is refused."""
    if not payments:
        raise InvalidAmount("a send needs at least one recipient")
    asked = tuple((address.strip(), amount) for address, amount in payments)
    outputs = [TxOut(amount, parse_address(address, session.params)) for address, amount in asked]
    seen: set[bytes] = set()
    for (address, _), output in zip(asked, outputs, strict=True):
        if output.lock in seen:
            raise InvalidAddress(f"address {address} appears twice; pay it once")
        seen.add(output.lock)
    return asked, outputs


def spendable(coin: WalletCoin) -> SpendableCoin:
    """A wallet coin as coin selection takes it."""
    return SpendableCoin(coin.outpoint, coin.value, coin.lock, coin.key_id, coin.height is not None)


def draft(
    session: WalletSession,
    meta: WalletMetadata,
    built: BuiltTransaction,
    advance: int,
    sweep: bool,
    replaces: bytes | None = None,
) -> bytes:
    """``--unsigned``: save only the ``advance`` change keys ``built`` takes and return its
    transaction file, to sign elsewhere (:mod:`wallet.offline`)."""
    if advance:
        session.save(replace(meta, next_change=meta.next_change + advance))
    return unsigned_file(built, session.keychain, session.params, sweep=sweep, replaces=replaces)


async def broadcast_checked(session: WalletSession, checked: Checked) -> None:
    """Broadcast a signed transaction file of this wallet (``wallet.offline``) and record it
    as a pending send, as if this wallet had made it: its coins reserved, its change key
    counted, watched until it confirms."""
    built = checked.built()
    if not built.signed:
        raise InvalidInput("the transaction is not signed yet: sign it with `wallet sign`")
    await session.sync()
    file = checked.file
    await record_pending(
        session, session.reconciled(), built, sweep=file.sweep, replaces=file.replaces
    )


def pending_send(built: BuiltTransaction, change_index: int | None) -> PendingSend:
    """``built`` as ``wallet.json`` remembers a send of ours until it confirms."""
    return PendingSend(
        txid=built.tx.txid,
        raw=built.tx.encoded,
        inputs=built.tx.inputs,
        fee=built.fee,
        created=int(time.time()),
        change_vout=built.change_vout,
        change_index=change_index,
    )
