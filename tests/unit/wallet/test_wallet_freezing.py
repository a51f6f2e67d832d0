"""Frozen coins: what may be frozen, the list in wallet.json, and sends (one, everything, a
fee bump) that never spend a frozen coin while the balance still counts it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from consensus.params import MAIN, REGTEST
from consensus.transaction import COIN
from tests.unit.wallet.fakenode import SUBSIDY
from tests.unit.wallet.test_wallet_engine import OTHER, address, funded, lock, reopen
from wallet.errors import InsufficientFunds, InvalidAddress, InvalidInput, KeystoreCorrupt
from wallet.freezing import MAX_FROZEN, freeze_key, frozen_sets, with_frozen
from wallet.metadata import WalletMetadata, load_metadata, save_metadata

TXID = "ab" * 32


def test_keys() -> None:
    assert freeze_key(f" {TXID.upper()}:7 ", REGTEST) == f"{TXID}:7"
    assert freeze_key(address(0).upper(), REGTEST) == address(0)
    for bad in ("ab:1", f"{TXID}:x", f"{TXID}:{2**32}", f"{TXID}:-1"):
        with pytest.raises(InvalidInput, match="TXID:VOUT"):
            freeze_key(bad, REGTEST)
    with pytest.raises(InvalidAddress):
        freeze_key(OTHER.address(params=MAIN), REGTEST)


def test_list_round_trip_and_bound(tmp_path: Path) -> None:
    meta = with_frozen(WalletMetadata("regtest"), [address(0), f"{TXID}:1"], True)
    assert with_frozen(meta, [address(0)], True).frozen == meta.frozen  # no duplicates
    path = tmp_path / "wallet.json"
    save_metadata(path, meta)
    assert load_metadata(path).frozen == sorted([address(0), f"{TXID}:1"])
    locks, outpoints = frozen_sets(meta.frozen, REGTEST)
    assert locks == {lock(0)} and [str(o) for o in outpoints] == [f"{TXID}:1"]
    assert with_frozen(meta, [address(0), "not there"], False).frozen == [f"{TXID}:1"]
    full = replace(meta, frozen=[f"{i:064x}:0" for i in range(MAX_FROZEN)])
    with pytest.raises(InvalidInput, match="at most"):
        with_frozen(full, [address(0)], True)
    document = json.loads(path.read_text())
    document["frozen"] = ["rsc1tampered"]
    path.write_text(json.dumps(document))
    with pytest.raises(KeystoreCorrupt, match="frozen entry"):
        frozen_sets(load_metadata(path).frozen, REGTEST)


async def test_sends_never_spend_frozen_coins(tmp_path: Path) -> None:
    node, session = funded(tmp_path, coins=3)
    view = await session.sync()
    first, second, third = (coin.outpoint for coin in view.spendable_coins())
    meta = with_frozen(load_metadata(session.paths.metadata), [str(first), str(second)], True)
    save_metadata(session.paths.metadata, meta)

    view = await reopen(session, node).sync()
    assert view.balance.frozen == 2 * SUBSIDY and view.balance.spendable == SUBSIDY
    assert view.balance.total == 3 * SUBSIDY  # still ours, still counted
    with pytest.raises(InsufficientFunds):
        await reopen(session, node).send(OTHER.address(), 60 * COIN, 1)
    sent = await reopen(session, node).send(OTHER.address(), 10 * COIN, 1)
    assert sent.inputs == (third,)
    swept = await reopen(session, node).send_all(OTHER.address(), 1)  # the change only
    assert len(swept.inputs) == 1 and swept.inputs[0].txid == sent.txid  # not first or second

    # freezing the address freezes every coin on it; unfreezing gives them back
    node.mine()
    meta = with_frozen(load_metadata(session.paths.metadata), [address(0)], True)
    save_metadata(session.paths.metadata, meta)
    assert (await reopen(session, node).sync()).balance.spendable == 0
    meta = with_frozen(meta, [address(0), str(first), str(second)], False)
    save_metadata(session.paths.metadata, meta)
    view = await reopen(session, node).sync()
    assert view.balance.frozen == 0 and view.balance.spendable == 2 * SUBSIDY
