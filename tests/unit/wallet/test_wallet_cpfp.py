"""Child pays for parent: a slow payment to us sped up by spending our output of it with a
fee for both, recorded like a send; and every refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from consensus.transaction import COIN, OutPoint, TxOut
from tests.framework.factory import spend
from tests.unit.wallet.fakenode import SUBSIDY, FakeNode
from tests.unit.wallet.test_wallet_engine import OTHER, lock, metadata_bytes, new_wallet, reopen
from wallet.errors import FeeBumpError, InvalidFeeBumpTarget
from wallet.freezing import with_frozen
from wallet.keys import CHANGE
from wallet.metadata import load_metadata, save_metadata


def slow_payment(node: FakeNode, amount: int, fee: int) -> tuple[OutPoint, int, int]:
    """OTHER pays ``amount`` to our receive key 0, with ``fee``: (our outpoint, fee, size)."""
    node.mine(OTHER.lock)
    node.mine_many(100)
    coinbase = node.blocks[-101][0]
    parent = spend(
        [(OutPoint(coinbase.txid, 0), coinbase.outputs[0], OTHER)],
        [TxOut(amount, lock(0)), TxOut(SUBSIDY - amount - fee, OTHER.lock)],
    )
    node.accept(parent)
    vout = next(i for i, out in enumerate(parent.outputs) if out.lock == lock(0))
    return OutPoint(parent.txid, vout), fee, parent.size


async def test_the_child_lifts_the_pair_to_the_rate(tmp_path: Path) -> None:
    node = FakeNode()
    ours, parent_fee, parent_size = slow_payment(node, 2 * COIN, 250)
    session = new_wallet(tmp_path, node)
    result = await session.cpfp(ours.txid, 12)
    child = node.mempool[-1]
    assert child.txid == result.txid and child.inputs == (ours,)
    assert child.outputs == (TxOut(2 * COIN - result.fee, lock(0, CHANGE)),)
    together = (parent_fee + result.fee) / (parent_size + child.size)
    assert 12 <= together < 12 + 9 / (parent_size + child.size) + 1e-9
    assert result.package_fee_rate == pytest.approx(together)
    meta = load_metadata(session.paths.metadata)
    assert meta.next_change == 1 and [p.txid for p in meta.pending] == [child.txid]
    view = await reopen(session, node).sync()
    assert view.balance.spendable == 2 * COIN - result.fee  # our own change: trusted
    # the child is a send of ours: it can be bumped in turn
    bump = await reopen(session, node).bump(child.txid, 40)
    assert bump.replaces == child.txid


async def test_refusals_change_nothing(tmp_path: Path) -> None:
    node = FakeNode()
    ours, _, _ = slow_payment(node, 2 * COIN, 250)
    session = new_wallet(tmp_path, node)
    before = metadata_bytes(session)
    cases: list[tuple[bytes, int, type[Exception], str]] = [
        (b"\x42" * 32, 10, InvalidFeeBumpTarget, "does not touch"),
        (ours.txid, 1, FeeBumpError, "adds nothing"),  # the parent pays more than 1 already
    ]
    for txid, rate, error, message in cases:
        with pytest.raises(error, match=message):
            await reopen(session, node).cpfp(txid, rate)
    meta = with_frozen(load_metadata(session.paths.metadata), [str(ours)], True)
    save_metadata(session.paths.metadata, meta)
    with pytest.raises(FeeBumpError, match="frozen"):
        await reopen(session, node).cpfp(ours.txid, 10)
    save_metadata(session.paths.metadata, with_frozen(meta, [str(ours)], False))
    assert metadata_bytes(session) == before and len(node.mempool) == 1
    node.mine()
    with pytest.raises(InvalidFeeBumpTarget, match="already confirmed"):
        await reopen(session, node).cpfp(ours.txid, 10)
