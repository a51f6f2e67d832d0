"""The wallet engine against an in-memory node (``fakenode.FakeNode``): discovery with the gap
limit, balances and maturity, sends and their reservations, refused broadcasts, reorgs that
undo or conflict a send, dropped sends, fee bumps."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from consensus.hashing import hash_to_hex
from consensus.params import REGTEST
from consensus.transaction import COIN, OutPoint, Transaction, TxOut
from tests.framework.factory import Key, spend
from tests.unit.wallet.fakenode import SUBSIDY, FakeNode
from wallet.engine import (
    WATCH_DEPTH,
    WalletLocation,
    WalletSession,
    create_wallet,
    keychain_for,
    parse_address,
    parse_fee_rate,
    rate_from_estimates,
    restore_wallet,
)
from wallet.errors import (
    BroadcastRejected,
    FeeBumpError,
    InsufficientFunds,
    InvalidAddress,
    InvalidFeeBumpTarget,
    InvalidFeeRate,
    NetworkMismatch,
    NodeUnreachable,
)
from wallet.history import CONFIRMED, CONFLICTED, DROPPED, UNCONFIRMED
from wallet.keys import CHANGE, RECEIVE, KeyId
from wallet.keystore import KdfParams
from wallet.metadata import load_metadata
from wallet.sync import GAP_LIMIT

LIGHT = KdfParams(n=16, r=8, p=1)  # the real cost is tested in test_wallet_keystore
MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"
KEYS = keychain_for(MNEMONIC)
OTHER = Key.from_index(7)


def lock(index: int, change: int = RECEIVE) -> bytes:
    return KEYS.key(change, index).lock


def address(index: int, change: int = RECEIVE) -> str:
    return KEYS.key(change, index).address(REGTEST.hrp)


def location(tmp_path: Path, name: str = "w") -> WalletLocation:
    return WalletLocation(tmp_path, name, REGTEST)


def new_wallet(tmp_path: Path, node: FakeNode, name: str = "w") -> WalletSession:
    create_wallet(location(tmp_path, name), "pw", mnemonic=MNEMONIC, kdf=LIGHT)
    return WalletSession.open(location(tmp_path, name), "pw", node)


def reopen(session: WalletSession, node: FakeNode) -> WalletSession:
    """The next command: a fresh session reading the files again."""
    return WalletSession.open(session.location, "pw", node)


def funded(tmp_path: Path, coins: int = 2) -> tuple[FakeNode, WalletSession]:
    """A wallet with ``coins`` mature 50-coin coinbases on receive key 0."""
    node = FakeNode()
    for _ in range(coins):
        node.mine(lock(0))
    node.mine_many(REGTEST.coinbase_maturity)
    return node, new_wallet(tmp_path, node)


def metadata_bytes(session: WalletSession) -> bytes:
    return session.paths.metadata.read_bytes()


# --- small pieces -------------------------------------------------------------------------------
def test_fee_rate_from_estimates() -> None:
    assert rate_from_estimates({6: 1.0}) == 1
    assert rate_from_estimates({6: 1.2}) == 2
    assert rate_from_estimates({6: 0.0}) == 1
    assert rate_from_estimates({}) == 1
    assert rate_from_estimates({2: 9.0, 12: 3.5}) == 4  # the nearest slower target
    assert rate_from_estimates({1: 9.0, 2: 7.0}) == 7  # no slower one: the slowest known


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "abc", "", "1e3", "100001", "٣"])
def test_bad_fee_rates(text: str) -> None:
    with pytest.raises(InvalidFeeRate):
        parse_fee_rate(text)


def test_good_fee_rate() -> None:
    assert parse_fee_rate(" 25 ") == 25


def test_address_errors_name_the_reason() -> None:
    good = address(0)
    assert parse_address(good, REGTEST) == lock(0)
    bad_checksum = good[:-1] + ("q" if good[-1] != "q" else "p")
    with pytest.raises(InvalidAddress, match="checksum") as info:
        parse_address(bad_checksum, REGTEST)
    assert info.value.reason == "bad_address_checksum"
    main = KEYS.key(RECEIVE, 0).address("sc")
    with pytest.raises(InvalidAddress, match="main") as info:
        parse_address(main, REGTEST)
    assert info.value.reason == "wrong_network_address"
    with pytest.raises(InvalidAddress):
        parse_address("hello", REGTEST)


# --- discovery ----------------------------------------------------------------------------------
async def test_discovery_follows_the_gap_limit(tmp_path: Path) -> None:
    node = FakeNode()
    # receive 19 is inside the first window; 39 is 19 + 20 (found); 60 is 39 + 21 (beyond)
    for index in (0, 19, 39, 60):
        node.mine(lock(index))
    node.mine(lock(GAP_LIMIT - 1, CHANGE))  # change 19: the last of the first window
    node.mine(lock(GAP_LIMIT, CHANGE))  # change 20 follows 19 (gap restarts)
    session = new_wallet(tmp_path, node)
    view = await session.sync()
    assert session.scan is not None
    assert session.scan.last_used == {RECEIVE: 39, CHANGE: 20}
    assert session.scan.scanned == {RECEIVE: 39 + 1 + GAP_LIMIT, CHANGE: 20 + 1 + GAP_LIMIT}
    assert view.balance.confirmed == 5 * SUBSIDY  # receive 60 is not found
    meta = session.reconciled()
    assert (meta.next_receive, meta.next_change) == (40, 21)


async def test_handed_out_addresses_are_always_scanned(tmp_path: Path) -> None:
    node = FakeNode()
    node.mine(lock(60))  # far beyond the gap, but the wallet handed out 0..69
    session = new_wallet(tmp_path, node)
    for _ in range(70):
        session.new_address()
    view = await reopen(session, node).sync()
    assert view.balance.confirmed == SUBSIDY


async def test_restore_discovers_and_saves_next_indexes(tmp_path: Path) -> None:
    node = FakeNode()
    node.mine(lock(3))
    node.mine(lock(5, CHANGE))
    created, view = await restore_wallet(location(tmp_path), "pw", MNEMONIC, node, kdf=LIGHT)
    assert view is not None and view.balance.confirmed == 2 * SUBSIDY
    meta = load_metadata(created.paths.metadata)
    assert (meta.next_receive, meta.next_change) == (4, 6)


async def test_restore_writes_nothing_when_the_node_is_down(tmp_path: Path) -> None:
    node = FakeNode()
    node.down = True
    with pytest.raises(NodeUnreachable):
        await restore_wallet(location(tmp_path), "pw", MNEMONIC, node, kdf=LIGHT)
    assert not (tmp_path / "wallets").exists()


async def test_wrong_network_node(tmp_path: Path) -> None:
    node = FakeNode(network="test")
    session = new_wallet(tmp_path, node)
    with pytest.raises(NetworkMismatch, match="test"):
        await session.sync()


# --- balances -----------------------------------------------------------------------------------
async def test_balance_maturity_and_mempool(tmp_path: Path) -> None:
    node = FakeNode()
    for _ in range(101):
        node.mine(lock(0))
    session = new_wallet(tmp_path, node)
    view = await session.sync()
    balance = view.balance
    # tip 101: the coinbases of heights 1 and 2 have 101 and 100 confirmations
    assert balance.confirmed == 101 * SUBSIDY
    assert balance.immature == 99 * SUBSIDY
    assert balance.spendable == 2 * SUBSIDY
    assert balance.unconfirmed == 0

    # an unconfirmed payment from someone else: counted, but not spendable (untrusted)
    other_coinbase = node.mine(OTHER.lock)[0]
    node.mine_many(REGTEST.coinbase_maturity)
    payment = spend(
        [(OutPoint(other_coinbase.txid, 0), other_coinbase.outputs[0], OTHER)],
        [TxOut(3 * COIN, lock(1))],
    )
    node.accept(payment)
    view = await reopen(session, node).sync()
    assert view.balance.unconfirmed == 3 * COIN
    coin = view.coin(OutPoint(payment.txid, 0))
    assert coin is not None and not coin.trusted and not coin.spendable
    assert [e.status for e in view.history[:1]] == [UNCONFIRMED]


async def test_history_net_amounts_and_fee(tmp_path: Path) -> None:
    node, session = funded(tmp_path)
    result = await session.send(OTHER.address(), 10 * COIN, 2)
    node.mine()
    view = await reopen(session, node).sync()
    entry = next(e for e in view.history if e.txid == result.txid)
    assert entry.status == CONFIRMED and entry.confirmations == 1
    assert entry.net == -(10 * COIN + result.fee) and entry.fee == result.fee
    assert entry.sent == SUBSIDY
    assert view.balance.confirmed == 2 * SUBSIDY - 10 * COIN - result.fee
    coinbases = [e for e in view.history if e.coinbase]
    assert len(coinbases) == 2 and all(e.net == SUBSIDY and e.fee is None for e in coinbases)


# --- sending ------------------------------------------------------------------------------------
async def test_send_saves_the_pending_send_before_broadcasting(tmp_path: Path) -> None:
    node, session = funded(tmp_path)
    seen: list[bytes] = []

    def check(tx: Transaction) -> None:
        meta = load_metadata(session.paths.metadata)
        seen.extend(p.txid for p in meta.pending)
        assert meta.next_change == 1

    node.on_broadcast = check
    result = await session.send(OTHER.address(), 12 * COIN + COIN // 2)
    assert seen == [result.txid]
    assert node.mempool[-1].txid == result.txid
    assert result.fee == result.size * 1  # the estimate for 6 blocks, 1 unit/byte
    assert result.change == SUBSIDY - 12 * COIN - COIN // 2 - result.fee
    assert TxOut(result.change, lock(0, CHANGE)) in node.mempool[-1].outputs


async def test_two_sends_never_pick_the_same_coins(tmp_path: Path) -> None:
    node, session = funded(tmp_path, coins=3)
    node.forget_broadcasts = True  # the node loses them: only the reservation protects the coins
    first = await session.send(OTHER.address(), 40 * COIN, 1)
    second = await reopen(session, node).send(OTHER.address(), 40 * COIN, 1)
    assert not set(first.inputs) & set(second.inputs)
    third = reopen(session, node)
    with pytest.raises(InsufficientFunds):
        await third.send(OTHER.address(), 60 * COIN, 1)  # the third coin only: not enough
    view = await reopen(session, node).sync(rebroadcast=False)
    assert view.balance.reserved == 2 * SUBSIDY
    assert {view.sends[first.txid].status, view.sends[second.txid].status} == {DROPPED}


async def test_unconfirmed_change_is_spendable(tmp_path: Path) -> None:
    node, session = funded(tmp_path, coins=1)
    first = await session.send(OTHER.address(), 10 * COIN, 1)
    second = await reopen(session, node).send(OTHER.address(), 10 * COIN, 1)
    assert second.inputs == (OutPoint(first.txid, _change_vout(node, first.txid)),)
    assert [tx.txid for tx in node.mempool] == [first.txid, second.txid]


def _change_vout(node: FakeNode, txid: bytes) -> int:
    tx = next(t for t in node.mempool if t.txid == txid)
    return next(i for i, out in enumerate(tx.outputs) if out.lock == lock(0, CHANGE))


async def test_refused_broadcast_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    node, session = funded(tmp_path)
    before = metadata_bytes(session)
    node.reject = (400, "min_fee_not_met")
    with pytest.raises(BroadcastRejected, match="min_fee_not_met"):
        await session.send(OTHER.address(), COIN, 1)
    assert metadata_bytes(session) == before
    assert load_metadata(session.paths.metadata).pending == []


async def test_unreachable_node_at_broadcast_keeps_the_send_pending(tmp_path: Path) -> None:
    node, session = funded(tmp_path)

    def go_down(tx: Transaction) -> None:
        node.down = True
        raise NodeUnreachable(f"cannot reach the node at {node.url}: connection reset")

    node.on_broadcast = go_down
    with pytest.raises(NodeUnreachable, match="saved as pending"):
        await session.send(OTHER.address(), COIN, 1)
    pending = load_metadata(session.paths.metadata).pending
    assert len(pending) == 1
    # the next command broadcasts it again
    node.down = False
    node.on_broadcast = None
    view = await reopen(session, node).sync()
    assert view.sends[pending[0].txid].status == UNCONFIRMED
    assert node.mempool[-1].txid == pending[0].txid


async def test_insufficient_funds_and_dust(tmp_path: Path) -> None:
    node, session = funded(tmp_path)
    before = metadata_bytes(session)
    with pytest.raises(InsufficientFunds, match="available"):
        await session.send(OTHER.address(), 100 * COIN, 1)
    assert metadata_bytes(session) == before
    assert node.broadcasts == []


# --- reorgs -------------------------------------------------------------------------------------
async def test_confirmed_send_moves_to_recent_and_follows_a_reorg(tmp_path: Path) -> None:
    node, session = funded(tmp_path)
    result = await session.send(OTHER.address(), 5 * COIN, 1)
    node.mine()
    next_run = reopen(session, node)
    view = await next_run.sync()
    assert view.sends[result.txid].status == CONFIRMED
    next_run.save_reconciled()
    meta = load_metadata(session.paths.metadata)
    assert meta.pending == [] and [r.txid for r in meta.recent] == [result.txid]

    # a reorg that leaves the block out: the send is back in the mempool, unconfirmed
    node.reorg(1, [[], []])
    after = reopen(session, node)
    view = await after.sync()
    entry = next(e for e in view.history if e.txid == result.txid)
    assert entry.status == UNCONFIRMED and entry.height is None
    after.save_reconciled()
    assert [p.txid for p in load_metadata(session.paths.metadata).pending] == [result.txid]


async def test_reorg_with_a_double_spend_shows_the_send_conflicted(tmp_path: Path) -> None:
    node, session = funded(tmp_path)
    result = await session.send(OTHER.address(), 5 * COIN, 1)
    node.mine()  # confirmed while the wallet is closed
    # a competing branch spends the same coin elsewhere (as a thief with the keys would)
    coin = result.inputs[0]
    outputs = node.outputs()
    double = spend_with_wallet_key(
        coin, outputs[coin].out.value, [TxOut(SUBSIDY - 1000, OTHER.lock)]
    )
    node.reorg(1, [[double], []])
    session2 = reopen(session, node)
    view = await session2.sync()
    state = view.sends[result.txid]
    assert state.status == CONFLICTED and state.conflicts_with == double.txid
    entry = next(e for e in view.history if e.txid == result.txid)
    assert entry.status == CONFLICTED and entry.conflicts_with == double.txid
    assert entry.fee == result.fee
    # the balance is what the chain says: the coin went to the double spend
    assert view.balance.confirmed == SUBSIDY
    assert view.balance.unconfirmed == 0
    session2.save_reconciled()
    meta = load_metadata(session.paths.metadata)
    assert meta.pending == [] and [r.txid for r in meta.recent] == [result.txid]


def spend_with_wallet_key(coin: OutPoint, value: int, outputs: list[TxOut]) -> Transaction:
    key = KEYS.key(RECEIVE, 0)
    signer = Key(key.private_key, key.public_key, key.key_hash, key.lock)
    return spend([(coin, TxOut(value, key.lock), signer)], outputs)


async def test_recent_sends_are_forgotten_when_deep(tmp_path: Path) -> None:
    node, session = funded(tmp_path)
    result = await session.send(OTHER.address(), 5 * COIN, 1)
    node.mine_many(WATCH_DEPTH)
    later = reopen(session, node)
    view = await later.sync()
    assert view.sends[result.txid].confirmations == WATCH_DEPTH
    later.save_reconciled()
    meta = load_metadata(session.paths.metadata)
    assert meta.pending == [] and meta.recent == []


async def test_dropped_send_refused_for_good_is_forgotten(tmp_path: Path) -> None:
    node, session = funded(tmp_path)
    node.forget_broadcasts = True
    result = await session.send(OTHER.address(), 5 * COIN, 1)
    node.forget_broadcasts = False
    node.reject = (400, "bad_signature")
    later = reopen(session, node)
    view = await later.sync()
    assert view.sends[result.txid].status == DROPPED
    later.save_reconciled()
    assert load_metadata(session.paths.metadata).pending == []
    # a transient refusal keeps it
    node.forget_broadcasts = True
    node.reject = None
    kept = await reopen(session, node).send(OTHER.address(), 5 * COIN, 1)
    node.reject = (400, "mempool_full")
    later = reopen(session, node)
    await later.sync()
    later.save_reconciled()
    assert [p.txid for p in load_metadata(session.paths.metadata).pending] == [kept.txid]


# --- fee bumps ----------------------------------------------------------------------------------
async def test_bump_replaces_the_original(tmp_path: Path) -> None:
    node, session = funded(tmp_path)
    sent = await session.send(OTHER.address(), 5 * COIN, 1)
    bump = await reopen(session, node).bump(sent.txid, 5)
    assert bump.replaces == sent.txid and bump.fee > sent.fee
    assert bump.fee >= 5 * bump.size
    assert [tx.txid for tx in node.mempool] == [bump.txid]
    replacement = node.mempool[0]
    assert set(replacement.inputs) >= set(sent.inputs)
    assert TxOut(5 * COIN, OTHER.lock) in replacement.outputs
    meta = load_metadata(session.paths.metadata)
    assert [(p.txid, p.replaces) for p in meta.pending] == [(bump.txid, sent.txid)]
    view = await reopen(session, node).sync()
    assert [e.txid for e in view.history if e.status != CONFIRMED] == [bump.txid]
    assert view.balance.total == 2 * SUBSIDY - 5 * COIN - bump.fee


async def test_bump_default_rate_is_above_the_original(tmp_path: Path) -> None:
    node, session = funded(tmp_path)
    sent = await session.send(OTHER.address(), 5 * COIN, 3)
    bump = await reopen(session, node).bump(sent.txid)
    assert bump.fee_rate == 4


async def test_bump_refusals(tmp_path: Path) -> None:
    node, session = funded(tmp_path, coins=1)
    sent = await session.send(OTHER.address(), 5 * COIN, 2)
    with pytest.raises(FeeBumpError, match="not above"):
        await reopen(session, node).bump(sent.txid, 2)
    with pytest.raises(InvalidFeeBumpTarget, match="no pending send"):
        await reopen(session, node).bump(hashlib.sha256(b"x").digest(), 5)
    child = await reopen(session, node).send(OTHER.address(), 5 * COIN, 2)
    assert child.inputs[0].txid == sent.txid  # spends the unconfirmed change
    with pytest.raises(FeeBumpError, match="descendant"):
        await reopen(session, node).bump(sent.txid, 9)
    node.mine()
    with pytest.raises(InvalidFeeBumpTarget, match="already confirmed"):
        await reopen(session, node).bump(sent.txid, 9)


async def test_bump_without_change_adds_a_coin(tmp_path: Path) -> None:
    node, session = funded(tmp_path, coins=2)
    # pay almost a whole coin: branch and bound finds a changeless selection
    amount = SUBSIDY - 300
    sent = await session.send(OTHER.address(), amount, 1)
    assert sent.change is None
    bump = await reopen(session, node).bump(sent.txid, 10)
    replacement = node.mempool[0]
    assert len(replacement.inputs) == 2
    meta = load_metadata(session.paths.metadata)
    assert meta.next_change == 1 and meta.pending[0].change_index == 0
    assert hash_to_hex(bump.txid) == replacement.txid_hex


async def test_new_address_advances(tmp_path: Path) -> None:
    node = FakeNode()
    session = new_wallet(tmp_path, node)
    assert session.new_address()[:2] == (0, address(0))
    again = reopen(session, node)
    assert again.new_address()[:2] == (1, address(1))
    assert again.address_at(0) == (address(0), "m/44'/8888'/0'/0'/0'")
    assert KeyId(RECEIVE, 1) == KEYS.key(RECEIVE, 1).key_id
