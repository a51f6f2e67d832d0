"""Chain state on SQLite: most-work choice, reorgs, invalid branches, orphans, persistence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consensus import errors as E
from consensus.block import Block
from consensus.transaction import TxOut
from consensus.utxo import DictCoinView
from node.chain import ChainState, ChainUpdate
from node.coins import utxo_set_hash
from node.verify import verify_datadir
from tests.framework.factory import ChainBuilder, Key, spend

NOW = 2_000_000_000
ALICE = Key.from_index(1)


def view_hash(view: DictCoinView) -> bytes:
    return utxo_set_hash(sorted((op.key(), coin) for op, coin in view.coins.items()))


def feed(chain: ChainState, blocks: list[Block]) -> None:
    for block in blocks:
        chain.accept_block(block, NOW)


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainState]:
    state = ChainState.open(tmp_path, ChainBuilder().params)
    yield state
    state.close()


def test_fresh_chain_is_at_genesis(chain: ChainState) -> None:
    assert chain.height == 0
    assert chain.tip.hash == chain.params.genesis_hash
    assert chain.store.coin_count() == 0


def test_connects_blocks_and_matches_in_memory_utxo_set(chain: ChainState) -> None:
    b = ChainBuilder()
    b.mine(101)
    tx = spend(
        [(*b.coinbase_coin(1), b.miner_key)],
        [TxOut(10**9, ALICE.lock), TxOut(4 * 10**9 - 1000, b.miner_key.lock)],
    )
    b.add(b.make_block([tx], extra_fee=1000))
    feed(chain, b.blocks[1:])
    assert chain.height == 102
    assert chain.utxo_hash() == view_hash(b.view)


def test_equal_work_does_not_reorg_more_work_does(chain: ChainState, tmp_path: Path) -> None:
    a = ChainBuilder()
    a.mine(3)
    b = a.fork(0)
    b.miner_key = ALICE
    b.mine(3)
    feed(chain, a.blocks[1:])
    updates: list[ChainUpdate] = []
    chain.listeners.append(updates.append)
    feed(chain, b.blocks[1:])
    assert chain.tip.hash == a.tip.hash, "equal work: first seen stays"
    assert updates == []
    b.mine(1)
    chain.accept_block(b.tip, NOW)
    assert chain.tip.hash == b.tip.hash
    assert [blk.hash for blk, _ in updates[-1].disconnected] == [
        blk.hash for blk in reversed(a.blocks[1:])
    ]
    assert [blk.hash for blk, _ in updates[-1].connected] == [blk.hash for blk in b.blocks[1:]]
    assert chain.utxo_hash() == view_hash(b.view)


def test_reorg_onto_branch_with_invalid_block_returns_to_best_valid(tmp_path: Path) -> None:
    a = ChainBuilder()
    a.mine(3)
    b = a.fork(0)
    b.miner_key = ALICE
    b.mine(2)
    bad = b.make_block(extra_fee=1)  # coinbase pays one unit too much
    b.blocks.append(bad)
    b.blocks.append(b.make_block())
    b.blocks.append(b.make_block())
    victim = ChainState.open(tmp_path / "victim", a.params)
    feed(victim, a.blocks[1:])
    feed(victim, b.blocks[1:4])  # equal work so far: stored, not connected
    assert victim.tip.hash == a.tip.hash
    with pytest.raises(E.KnownInvalidBlock):  # more work: reorg, bad block fails, back to A
        victim.accept_block(b.blocks[4], NOW)
    assert victim.tip.hash == a.tip.hash
    assert victim.entries[bad.hash].failed
    assert victim.entries[b.blocks[4].hash].failed
    with pytest.raises(E.KnownInvalidBlock):
        victim.accept_block(bad, NOW)
    with pytest.raises(E.BadPrevBlock):
        victim.accept_block(b.blocks[5], NOW)
    clean = ChainState.open(tmp_path / "clean", a.params)
    feed(clean, a.blocks[1:])
    assert victim.utxo_hash() == clean.utxo_hash() == view_hash(a.view)
    victim.close()
    clean.close()
    assert verify_datadir(tmp_path / "victim", a.params).height == 3


def test_orphans_connect_when_parent_arrives(chain: ChainState) -> None:
    b = ChainBuilder()
    b.mine(4)
    assert chain.accept_block(b.blocks[3], NOW).status == "orphan"
    assert chain.accept_block(b.blocks[4], NOW).status == "orphan"
    assert chain.accept_block(b.blocks[2], NOW).status == "orphan"
    result = chain.accept_block(b.blocks[1], NOW)
    assert result.status == "connected"
    assert [blk.hash for blk in result.also_accepted] == [blk.hash for blk in b.blocks[2:]]
    assert chain.tip.hash == b.tip.hash


def test_orphan_pool_is_bounded(tmp_path: Path) -> None:
    b = ChainBuilder()
    b.mine(30)
    state = ChainState.open(tmp_path, b.params, max_orphans=8)
    for block in b.blocks[2:]:
        state.accept_block(block, NOW)
    assert len(state.orphans) == 8
    state.close()


def test_mutated_block_does_not_poison_the_good_one(chain: ChainState) -> None:
    b = ChainBuilder()
    b.mine(101)
    feed(chain, b.blocks[1:])
    t1 = spend([(*b.coinbase_coin(1), b.miner_key)], [TxOut(10**9, ALICE.lock)])
    t2 = spend([(*b.coinbase_coin(2), b.miner_key)], [TxOut(10**9, ALICE.lock)])
    good = b.make_block([t1, t2], extra_fee=8 * 10**9)
    mutated = Block(good.header, (*good.transactions, t2))
    with pytest.raises(E.BlockMutated):
        chain.accept_block(mutated, NOW)
    assert chain.accept_block(good, NOW).status == "connected"


def test_persistence_and_deep_reorg(tmp_path: Path) -> None:
    a = ChainBuilder()
    a.mine(60)
    b = a.fork(10)
    b.miner_key = ALICE
    b.mine(51)
    state = ChainState.open(tmp_path, a.params)
    feed(state, a.blocks[1:])
    state.close()
    state = ChainState.open(tmp_path, a.params)
    assert state.tip.hash == a.tip.hash
    feed(state, b.blocks[11:])
    assert state.tip.hash == b.tip.hash
    assert state.utxo_hash() == view_hash(b.view)
    state.close()
    report = verify_datadir(tmp_path, a.params)
    assert report.height == 61 and report.tip_hash == b.tip.hash


def test_timestamp_too_new_is_not_remembered_as_invalid(chain: ChainState) -> None:
    b = ChainBuilder()
    block = b.make_block(time=NOW + 3 * 3600)
    with pytest.raises(E.TimestampTooNew):
        chain.accept_block(block, NOW)
    assert chain.accept_block(block, NOW + 2 * 3600).status == "connected"


def test_headers_first(chain: ChainState) -> None:
    b = ChainBuilder()
    b.mine(5)
    entries = chain.accept_headers([blk.header for blk in b.blocks[1:]], NOW)
    assert [e.height for e in entries] == [1, 2, 3, 4, 5]
    assert chain.height == 0
    feed(chain, b.blocks[1:])
    assert chain.height == 5
    assert chain.locator()[0] == b.tip.hash and chain.locator()[-1] == b.blocks[0].hash


def test_locator_is_dense_then_exponentially_sparse(chain: ChainState) -> None:
    b = ChainBuilder()
    b.mine(60)
    feed(chain, b.blocks[1:])
    heights = [*range(60, 50, -1), 49, 45, 37, 21, 0]  # 10 dense, then steps 2, 4, 8, 16, to 0
    assert chain.locator() == [b.blocks[h].hash for h in heights]
    assert chain.locator(chain.entry_at(3)) == [b.blocks[h].hash for h in (3, 2, 1, 0)]


def test_stored_blocks_connect_in_batches_with_one_notification(tmp_path: Path) -> None:
    b = ChainBuilder()
    b.mine(101)
    txs = [
        spend([(*b.coinbase_coin(h), b.miner_key)], [TxOut(10**9, ALICE.lock)])
        for h in range(1, 41)
    ]
    for tx in txs:
        b.add(b.make_block([tx], extra_fee=4 * 10**9))
    state = ChainState.open(tmp_path, b.params)
    updates: list[ChainUpdate] = []
    state.listeners.append(updates.append)
    for block in b.blocks[1:]:
        assert state.accept_block(block, NOW, activate=False).status == "stored"
    assert state.height == 0
    update = state.activate_best_chain()
    assert state.tip.hash == b.tip.hash
    assert len(updates) == 1 and len(update.connected) == 141 and not update.failed
    assert state.utxo_hash() == view_hash(b.view)
    state.close()
    assert verify_datadir(tmp_path, b.params, check_signatures=True).height == 141


def test_bad_signature_inside_a_batch_is_pinpointed(tmp_path: Path) -> None:
    b = ChainBuilder()
    b.mine(101)
    good = b.fork(b.height)
    for h in range(1, 11):
        tx = spend([(*b.coinbase_coin(h), b.miner_key)], [TxOut(10**9, ALICE.lock)])
        if h == 6:  # flip one bit of the sixth block's signature
            w = tx.witnesses[0]
            bad_sig = bytes([w.signature[0] ^ 1]) + w.signature[1:]
            tx = tx.with_witnesses((w._replace(signature=bad_sig),))
            b.blocks.append(b.make_block([tx], extra_fee=4 * 10**9))
        else:
            block = b.make_block([tx], extra_fee=4 * 10**9)
            b.add(block) if h < 6 else b.blocks.append(block)
            if h < 6:
                good.add(block)
    state = ChainState.open(tmp_path, b.params)
    for block in b.blocks[1:]:
        state.accept_block(block, NOW, activate=False)
    update = state.activate_best_chain()
    assert state.height == 106, "connected up to the block before the bad one"
    assert [type(e) for _, e in update.failed] == [E.BadSignature]
    assert update.failed[0][0] == b.blocks[107].hash
    assert state.entries[b.blocks[110].hash].failed
    assert state.utxo_hash() == view_hash(good.view)
    state.close()


def test_coins_of_a_batch_wait_for_a_flush_and_survive_a_crash(tmp_path: Path) -> None:
    b = ChainBuilder()
    b.mine(101)
    for h in range(1, 41):
        tx = spend([(*b.coinbase_coin(h), b.miner_key)], [TxOut(10**9, ALICE.lock)])
        b.add(b.make_block([tx], extra_fee=4 * 10**9))
    state = ChainState.open(tmp_path, b.params)
    for block in b.blocks[1:]:
        state.accept_block(block, NOW, activate=False)
    state.activate_best_chain()
    assert state.tip.hash == b.tip.hash
    # A sync's worth of blocks: their coin changes wait in the cache, the stored tip lags.
    assert state.coins.dirty > 0 and state.stored_tip.height == 0
    assert state.coins.get_coin(b.blocks[-1].transactions[1].inputs[0]) is None
    # The process dies here (no flush, no close): what is on disk is consistent...
    assert verify_datadir(tmp_path, b.params).height == 0
    # ...and reopening connects the stored blocks again, to the same tip and UTXO set.
    reopened = ChainState.open(tmp_path, b.params)
    assert reopened.tip.hash == b.tip.hash
    assert reopened.utxo_hash() == view_hash(b.view)
    assert reopened.stored_tip is reopened.tip
    reopened.close()
    state.close()  # the first one's late flush writes the same state
    assert verify_datadir(tmp_path, b.params, check_signatures=True).height == 141


def test_a_reorg_flushes_before_it_writes_through(tmp_path: Path) -> None:
    a = ChainBuilder()
    a.mine(30)
    b = a.fork(5)
    b.miner_key = ALICE  # a different branch
    b.mine(30)
    state = ChainState.open(tmp_path, a.params)
    for block in a.blocks[1:]:
        state.accept_block(block, NOW, activate=False)
    state.activate_best_chain()
    assert state.coins.dirty > 0
    for block in b.blocks[6:]:
        state.accept_block(block, NOW, activate=False)
    update = state.activate_best_chain()
    assert len(update.disconnected) == 25 and state.tip.hash == b.tip.hash
    assert state.utxo_hash() == view_hash(b.view)
    state.close()
    assert verify_datadir(tmp_path, a.params).tip_hash == b.tip.hash
