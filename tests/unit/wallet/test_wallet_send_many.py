"""Sends beyond one recipient, against the in-memory node: several recipients in one
transaction (Bitcoin Core's ``sendmany``) and every coin at once (``sendall``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from consensus.transaction import COIN, Transaction, TxOut
from tests.framework.factory import Key
from tests.unit.wallet.fakenode import SUBSIDY
from tests.unit.wallet.test_wallet_engine import (
    OTHER,
    funded,
    lock,
    metadata_bytes,
    reopen,
)
from wallet.errors import FeeBumpError, InsufficientFunds, InvalidAddress, InvalidAmount
from wallet.history import CONFIRMED
from wallet.keys import CHANGE
from wallet.metadata import load_metadata

THIRD = Key.from_index(8)


async def test_one_transaction_pays_every_recipient(tmp_path: Path) -> None:
    node, session = funded(tmp_path)
    result = await session.send_many([(OTHER.address(), 3 * COIN), (THIRD.address(), COIN)], 2)
    tx = node.mempool[-1]
    assert tx.txid == result.txid and len(node.mempool) == 1
    assert TxOut(3 * COIN, OTHER.lock) in tx.outputs and TxOut(COIN, THIRD.lock) in tx.outputs
    assert TxOut(result.change or 0, lock(0, CHANGE)) in tx.outputs
    assert result.amount == 4 * COIN and result.address is None
    assert result.fee >= 2 * result.size
    data = result.to_json()
    assert data["payments"] == [
        {"address": OTHER.address(), "amount": 3 * COIN},
        {"address": THIRD.address(), "amount": COIN},
    ]
    assert data["sent_all"] is False
    node.mine()
    view = await reopen(session, node).sync()
    assert view.sends[result.txid].status == CONFIRMED
    assert view.balance.total == 2 * SUBSIDY - 4 * COIN - result.fee
    entry = next(e for e in view.history if e.txid == result.txid)
    assert entry.net == -(4 * COIN + result.fee)


async def test_recipient_refusals_change_nothing(tmp_path: Path) -> None:
    node, session = funded(tmp_path)
    before = metadata_bytes(session)
    twice = [(OTHER.address(), COIN), (" " + OTHER.address(), 2 * COIN)]
    with pytest.raises(InvalidAddress, match="appears twice"):
        await session.send_many(twice, 1)
    with pytest.raises(InvalidAmount, match="at least one recipient"):
        await session.send_many([], 1)
    with pytest.raises(InvalidAmount, match="dust"):
        await session.send_many([(OTHER.address(), COIN), (THIRD.address(), 10)], 1)
    with pytest.raises(InsufficientFunds):
        await session.send_many([(OTHER.address(), 60 * COIN), (THIRD.address(), 60 * COIN)], 1)
    assert metadata_bytes(session) == before and node.broadcasts == []


async def test_send_all_spends_every_free_coin_without_change(tmp_path: Path) -> None:
    node, session = funded(tmp_path, coins=3)
    reserved = await session.send(THIRD.address(), COIN, 1)  # reserves one coin
    everything = await reopen(session, node).send_all(OTHER.address(), 3)
    tx = node.mempool[-1]
    assert tx.txid == everything.txid
    assert everything.sent_all and everything.change is None
    assert len(tx.outputs) == 1 and tx.outputs[0].lock == OTHER.lock
    # the two coins not reserved by the first send, and that send's unconfirmed change
    assert set(tx.inputs).isdisjoint(reserved.inputs) and len(tx.inputs) == 3
    spent = 2 * SUBSIDY + (reserved.change or 0)
    assert everything.amount == tx.outputs[0].value == spent - everything.fee
    assert everything.fee >= 3 * everything.size
    meta = load_metadata(session.paths.metadata)
    assert meta.next_change == 1  # the sweep used no change key
    view = await reopen(session, node).sync()
    assert view.balance.spendable == 0

    with pytest.raises(InsufficientFunds, match="0 coins spendable"):
        await reopen(session, node).send_all(OTHER.address(), 1)  # nothing left

    # a fee bump takes the higher fee from the one output: the same coins, less sent
    bump = await reopen(session, node).bump(everything.txid, 9)
    replacement = node.mempool[-1]
    assert replacement.txid == bump.txid and everything.txid not in {t.txid for t in node.mempool}
    assert replacement.inputs == tx.inputs and len(replacement.outputs) == 1
    assert replacement.outputs[0] == TxOut(spent - bump.fee, OTHER.lock)
    assert bump.fee >= 9 * bump.size and bump.fee > everything.fee
    (pending,) = load_metadata(session.paths.metadata).pending[-1:]
    assert pending.txid == bump.txid and pending.sweep and pending.replaces == everything.txid
    assert (await reopen(session, node).bump(bump.txid, 20)).fee >= 20 * bump.size  # again
    with pytest.raises(FeeBumpError, match="not above"):
        await reopen(session, node).bump(node.mempool[-1].txid, 20)
    with pytest.raises(InsufficientFunds, match="dust"):  # it would leave nothing to send
        await reopen(session, node).bump(node.mempool[-1].txid, spent // 100)


async def test_dry_runs_save_and_send_nothing(tmp_path: Path) -> None:
    node, session = funded(tmp_path)
    before = metadata_bytes(session)
    trial = await session.send_many([(OTHER.address(), COIN), (THIRD.address(), COIN)], 2,
                                    dry_run=True)  # fmt: skip
    assert trial.dry_run and trial.verdict is not None and trial.verdict["allowed"] is True
    assert trial.raw is not None
    tx = Transaction.decode(trial.raw)
    assert tx.txid == trial.txid and TxOut(COIN, THIRD.lock) in tx.outputs
    data = trial.to_json()
    assert data["dry_run"] is True and data["hex"] == trial.raw.hex() and data["allowed"]
    everything = await reopen(session, node).send_all(OTHER.address(), 1, dry_run=True)
    assert everything.dry_run and everything.sent_all and everything.change is None
    assert node.broadcasts == [] and node.mempool == []
    assert metadata_bytes(session) == before  # no pending send, no change index used

    node.reject = (400, "min_fee_not_met")
    verdict = (await reopen(session, node).send_many([(OTHER.address(), COIN)], 1,
                                                      dry_run=True)).to_json()  # fmt: skip
    assert (verdict["allowed"], verdict["reject_reason"]) == (False, "min_fee_not_met")
    assert metadata_bytes(session) == before
