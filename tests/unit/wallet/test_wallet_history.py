"""``wallet.history.build_view``: coins, balances, history and send states from a snapshot."""

from __future__ import annotations

import hashlib

from consensus.transaction import COIN, OutPoint, TxOut
from wallet.history import (
    CONFIRMED,
    CONFLICTED,
    DROPPED,
    UNCONFIRMED,
    ChainInput,
    ChainTx,
    build_view,
)
from wallet.keys import KeyId
from wallet.metadata import PendingSend

MINE = b"\x00" + b"\x01" * 20
CHANGE = b"\x00" + b"\x02" * 20
THEIRS = b"\x00" + b"\x09" * 20
OWNED = {MINE: KeyId(0, 0), CHANGE: KeyId(1, 0)}


def txid(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


def tx(
    name: str,
    inputs: list[tuple[OutPoint, TxOut | None]],
    outputs: list[TxOut],
    height: int | None,
    *,
    coinbase: bool = False,
    fee: int = 0,
) -> ChainTx:
    return ChainTx(
        txid(name),
        tuple(ChainInput(o, p) for o, p in inputs),
        tuple(outputs),
        fee,
        200,
        coinbase,
        height,
    )


def test_duplicates_keep_the_confirmed_report_and_balances_add_up() -> None:
    coinbase = tx("cb", [], [TxOut(50 * COIN, MINE)], 1, coinbase=True)
    payment_in = tx(
        "in", [(OutPoint(txid("x"), 0), TxOut(9 * COIN, THEIRS))], [TxOut(2 * COIN, MINE)], 10
    )
    stale = tx(
        "in", [(OutPoint(txid("x"), 0), TxOut(9 * COIN, THEIRS))], [TxOut(2 * COIN, MINE)], None
    )
    spend = tx(
        "out",
        [(OutPoint(txid("in"), 0), TxOut(2 * COIN, MINE))],
        [TxOut(COIN, THEIRS), TxOut(COIN - 500, CHANGE)],
        None,
        fee=500,
    )
    view = build_view([stale, coinbase, payment_in, spend], OWNED, 120, "tip", maturity=100)
    assert view.txs[txid("in")].height == 10
    assert view.balance.confirmed == 52 * COIN
    assert view.balance.unconfirmed == -(COIN + 500)
    assert view.balance.immature == 0  # 120 confirmations
    # the change of our own unconfirmed send is trusted, hence spendable
    change = view.coin(OutPoint(txid("out"), 1))
    assert change is not None and change.trusted and change.spendable
    assert view.coin(OutPoint(txid("in"), 0)) is None  # spent in the mempool
    assert [e.status for e in view.history] == [UNCONFIRMED, CONFIRMED, CONFIRMED]
    out = view.history[0]
    assert (out.net, out.fee, out.sent, out.received) == (-(COIN + 500), 500, 2 * COIN, COIN - 500)
    assert view.history[2].coinbase and view.history[2].fee is None


def test_immature_coinbase() -> None:
    coinbase = tx("cb", [], [TxOut(50 * COIN, MINE)], 21, coinbase=True)
    view = build_view([coinbase], OWNED, 119, "tip", maturity=100)  # 99 confirmations
    assert view.balance.immature == 50 * COIN and view.balance.spendable == 0
    view = build_view([coinbase], OWNED, 120, "tip", maturity=100)
    assert view.balance.immature == 0 and view.balance.spendable == 50 * COIN


def pending(name: str, inputs: list[OutPoint], fee: int = 300) -> PendingSend:
    from consensus.transaction import Transaction

    raw = Transaction(1, tuple(inputs), (TxOut(COIN, THEIRS),), 0).encoded
    return PendingSend(txid(name), raw, tuple(inputs), fee, 0)


def test_send_states() -> None:
    coin = OutPoint(txid("cb"), 0)
    coinbase = tx("cb", [], [TxOut(50 * COIN, MINE)], 1, coinbase=True)
    other = OutPoint(txid("cb2"), 0)
    coinbase2 = tx("cb2", [], [TxOut(50 * COIN, MINE)], 2, coinbase=True)
    thief = tx("thief", [(coin, TxOut(50 * COIN, MINE))], [TxOut(50 * COIN - 1, THEIRS)], 3)
    sends = [pending("conflicted", [coin]), pending("dropped", [other])]
    view = build_view([coinbase, coinbase2, thief], OWNED, 200, "tip", maturity=100, pending=sends)
    conflicted = view.sends[txid("conflicted")]
    assert conflicted.status == CONFLICTED and conflicted.conflicts_with == txid("thief")
    assert conflicted.confirmations == 198
    assert view.sends[txid("dropped")].status == DROPPED
    # a dropped send keeps its coin reserved; the history shows both, with amounts from bytes
    reserved = view.coin(other)
    assert reserved is not None and reserved.reserved and not reserved.spendable
    assert view.balance.reserved == 50 * COIN
    entries = {e.txid: e for e in view.history}
    assert entries[txid("conflicted")].status == CONFLICTED
    assert entries[txid("conflicted")].sent == COIN + 300
    assert entries[txid("dropped")].status == DROPPED
