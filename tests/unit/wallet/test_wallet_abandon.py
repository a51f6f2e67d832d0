"""``wallet abandon`` (Core's ``abandontransaction``): a send the node dropped and refuses only
for now keeps its coins reserved until abandoned; a send the node still has, or a confirmed
one, cannot be abandoned."""

from __future__ import annotations

from pathlib import Path

import pytest

from consensus.transaction import COIN, OutPoint
from tests.unit.wallet.test_wallet_engine import OTHER, funded, reopen
from wallet.abandon import CannotAbandon
from wallet.history import DROPPED
from wallet.metadata import load_metadata


async def test_a_dropped_send_and_its_child_are_abandoned_and_their_coins_released(
    tmp_path: Path,
) -> None:
    node, session = funded(tmp_path, coins=1)
    first = await session.send(OTHER.address(), 5 * COIN, 1)
    assert first.change is not None
    child = await reopen(session, node).send(OTHER.address(), 44 * COIN, 1)  # spends the change
    assert OutPoint(first.txid, 0) in child.inputs or OutPoint(first.txid, 1) in child.inputs
    node.mempool = []  # both evicted (a full mempool, say); sent again, refused for now
    node.reject = (400, "mempool_full")
    view = await reopen(session, node).sync()
    assert {view.sends[t].status for t in (first.txid, child.txid)} == {DROPPED}
    assert view.balance.reserved > 0
    assert len(load_metadata(session.paths.metadata).pending) == 2

    result = await reopen(session, node).abandon(first.txid)
    assert set(result.abandoned) == {first.txid, child.txid}
    assert set(result.released) == set(first.inputs)  # the child's input was first's output
    assert load_metadata(session.paths.metadata).pending == []
    node.reject = None
    view = await reopen(session, node).sync()
    assert view.balance.reserved == 0 and view.sends == {}
    assert all(OutPoint(first.txid, 0) != c.outpoint for c in view.coins)


async def test_what_cannot_be_abandoned(tmp_path: Path) -> None:
    node, session = funded(tmp_path)
    sent = await session.send(OTHER.address(), 5 * COIN, 1)
    before = session.paths.metadata.read_bytes()
    with pytest.raises(CannotAbandon, match="in the node's mempool"):
        await reopen(session, node).abandon(sent.txid)
    with pytest.raises(CannotAbandon, match="no pending send"):
        await reopen(session, node).abandon(bytes(32))
    assert session.paths.metadata.read_bytes() == before
    node.mine()
    with pytest.raises(CannotAbandon, match="is confirmed"):
        await reopen(session, node).abandon(sent.txid)
