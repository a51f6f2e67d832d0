"""The address index against a real ChainState: it matches the UTXO set and a from-scratch
rebuild after reorgs, catches up after a restart (also from another branch), and rebuilds when
its tip is unknown."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from consensus.block import Block
from consensus.transaction import OutPoint, Transaction, TxOut
from node.addrindex import AddressIndex
from node.chain import ChainState, ChainUpdate
from tests.framework.factory import ChainBuilder, Key, spend

NOW = 2_000_000_000
ALICE = Key.from_index(1)
BOB = Key.from_index(2)
MINER = Key.from_index(0)


def feed(chain: ChainState, blocks: list[Block]) -> None:
    for block in blocks:
        chain.accept_block(block, NOW)


def snapshot(index: AddressIndex, locks: set[bytes]) -> dict[bytes, object]:
    return {
        lock: (index.stats(lock), index.history(lock, None, 10_000), index.utxos(lock, 10_000))
        for lock in locks
    }


def utxos_by_lock(chain: ChainState) -> dict[bytes, set[tuple[OutPoint, int]]]:
    found: dict[bytes, set[tuple[OutPoint, int]]] = defaultdict(set)
    for key, coin in chain.store.iter_coins():
        found[coin.lock].add((OutPoint.from_key(key), coin.value))
    return dict(found)


def check_against_chain(index: AddressIndex, chain: ChainState, tmp_path: Path) -> None:
    assert index.is_synced(chain)
    expected = utxos_by_lock(chain)
    locks = set(expected) | {ALICE.lock, BOB.lock, MINER.lock}
    for lock in locks:
        got = {(u.outpoint, u.value) for u in index.utxos(lock, 100_000)}
        assert got == expected.get(lock, set())
        stats = index.stats(lock)
        unspent = expected.get(lock, set())
        assert stats.funded_count - stats.spent_count == len(unspent)
        assert stats.funded_sum - stats.spent_sum == sum(v for _, v in unspent)
    fresh = AddressIndex(tmp_path / f"fresh-{len(list(tmp_path.iterdir()))}.sqlite", chain.params)
    try:
        assert fresh.sync(chain)
        assert snapshot(fresh, locks) == snapshot(index, locks)
        for block_hash in (e.hash for e in chain.active):
            block = chain.get_block(block_hash)
            assert block is not None
            for tx in block.transactions:
                assert index.tx_location(tx.txid) == fresh.tx_location(tx.txid)
                for vin, outpoint in enumerate(tx.inputs):
                    spender = index.spender(outpoint)
                    assert spender is not None and (spender.txid, spender.vin) == (tx.txid, vin)
        # The whole spending index, so that a row left behind by a reorg shows.
        query = "SELECT * FROM spent_by ORDER BY outpoint"
        assert index.db.execute(query).fetchall() == fresh.db.execute(query).fetchall()
        # The same for the block filters and their header chain (node.filterindex).
        query = "SELECT * FROM block_filter ORDER BY height"
        filters = index.db.execute(query).fetchall()
        assert filters == fresh.db.execute(query).fetchall()
        assert [bytes(row[0]) for row in filters] == [e.hash for e in chain.active]
    finally:
        fresh.close()


def payments(builder: ChainBuilder, first_height: int) -> list[Block]:
    """Blocks spending miner coinbases to ALICE, and ALICE paying BOB inside the same block."""
    made = []
    for offset in range(3):
        op, out = builder.coinbase_coin(first_height + offset)
        to_alice = spend(
            [(op, out, MINER)],
            [TxOut(20 * 10**8, ALICE.lock), TxOut(out.value - 20 * 10**8 - 1000, MINER.lock)],
        )
        to_bob = spend(
            [(OutPoint(to_alice.txid, 0), to_alice.outputs[0], ALICE)],
            [TxOut(5 * 10**8, BOB.lock), TxOut(15 * 10**8 - 500, ALICE.lock)],
        )
        made.append(builder.add(builder.make_block([to_alice, to_bob], extra_fee=1500)))
    return made


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainState]:
    state = ChainState.open(tmp_path / "chain", ChainBuilder().params)
    yield state
    state.close()


def attach(chain: ChainState, index: AddressIndex) -> None:
    def listener(update: ChainUpdate) -> None:
        index.sync(chain)

    chain.listeners.append(listener)


def indexed_payments(chain: ChainState, tmp_path: Path) -> tuple[ChainBuilder, AddressIndex]:
    """The chain fed 101 blocks and ``payments``, and an index synced to it."""
    main = ChainBuilder(miner_key=MINER)
    main.mine(101)
    payments(main, 1)
    feed(chain, main.blocks[1:])
    index = AddressIndex(tmp_path / "index.sqlite", chain.params)
    assert index.sync(chain)
    return main, index


def test_an_index_of_another_schema_version_is_rebuilt(
    chain: ChainState, tmp_path: Path
) -> None:
    _, index = indexed_payments(chain, tmp_path)
    with index._write():
        index._set_meta("schema_version", b"1")  # as written before the spending index
    index.close()
    reopened = AddressIndex(tmp_path / "index.sqlite", chain.params)
    try:
        assert reopened.tip_hash is None  # wiped
        assert reopened.db.execute("SELECT COUNT(*) FROM spent_by").fetchone() == (0,)
        assert reopened.sync(chain)
        check_against_chain(reopened, chain, tmp_path)
    finally:
        reopened.close()


def test_follows_blocks_and_a_reorg(chain: ChainState, tmp_path: Path) -> None:
    index = AddressIndex(tmp_path / "index.sqlite", chain.params)
    assert index.sync(chain)
    attach(chain, index)
    main = ChainBuilder(miner_key=MINER)
    main.mine(101)
    fork = main.fork(101)
    payments(main, 1)
    feed(chain, main.blocks[1:])
    check_against_chain(index, chain, tmp_path)
    assert index.stats(BOB.lock).funded_count == 3
    history = index.history(ALICE.lock, None, 100)
    assert [(h.height, h.position) for h in history] == [
        (104, 2),
        (104, 1),
        (103, 2),
        (103, 1),
        (102, 2),
        (102, 1),
    ]
    assert index.history(ALICE.lock, (103, 2), 2) == history[3:5]

    fork.mine(1)
    other = spend([(*fork.coinbase_coin(2), MINER)], [TxOut(49 * 10**8, BOB.lock)])
    fork.add(fork.make_block([other], extra_fee=10**8))
    fork.mine(2)
    feed(chain, fork.blocks[102:])
    assert chain.tip.hash == fork.tip.hash
    check_against_chain(index, chain, tmp_path)
    assert index.stats(ALICE.lock).tx_count == 0
    assert index.stats(BOB.lock).funded_sum == 49 * 10**8
    assert index.tx_location(main.blocks[102].transactions[1].txid) is None
    index.close()


def test_catches_up_after_restart_even_from_another_branch(
    chain: ChainState, tmp_path: Path
) -> None:
    main = ChainBuilder(miner_key=MINER)
    main.mine(101)
    fork = main.fork(101)
    payments(main, 1)
    feed(chain, main.blocks[1:])
    index = AddressIndex(tmp_path / "index.sqlite", chain.params)
    assert not index.is_synced(chain)
    steps = 0
    while not index.sync(chain, max_blocks=30):  # bounded steps, as the API's catch-up does
        steps += 1
    assert steps == 3
    index.close()

    fork.mine(5)  # the chain moves to another branch while the index is closed
    feed(chain, fork.blocks[102:])
    index = AddressIndex(tmp_path / "index.sqlite", chain.params)
    assert not index.is_synced(chain)
    assert index.sync(chain)
    check_against_chain(index, chain, tmp_path)
    index.close()


def test_rebuilds_when_its_tip_is_unknown(chain: ChainState, tmp_path: Path) -> None:
    other_dir = tmp_path / "other"
    other = ChainState.open(other_dir, chain.params)
    builder = ChainBuilder(miner_key=BOB)
    builder.mine(3)
    feed(other, builder.blocks[1:])
    index = AddressIndex(tmp_path / "index.sqlite", chain.params)
    assert index.sync(other)
    assert index.stats(BOB.lock).tx_count == 3
    other.close()

    mine = ChainBuilder(miner_key=ALICE, spacing=61)
    mine.mine(2)
    feed(chain, mine.blocks[1:])
    assert index.sync(chain)
    assert index.stats(BOB.lock).tx_count == 0
    assert index.stats(ALICE.lock).tx_count == 2
    check_against_chain(index, chain, tmp_path)
    index.close()


def test_other_network_database_is_reset(tmp_path: Path) -> None:
    from dataclasses import replace

    from consensus.params import REGTEST

    index = AddressIndex(tmp_path / "index.sqlite", REGTEST)
    index._set_meta("tip", b"\x01" * 32)  # pretend it indexed something
    index.close()
    other = replace(REGTEST, chain_id=b"seedchain-other")
    reopened = AddressIndex(tmp_path / "index.sqlite", other)
    assert reopened.tip_hash is None
    reopened.close()


def test_transaction_bytes_sliced_from_the_stored_block(chain: ChainState, tmp_path: Path) -> None:
    from node.txindex import slice_transaction

    main, index = indexed_payments(chain, tmp_path)
    for block in main.blocks[-3:]:
        raw = chain.store.get_block(block.hash)
        assert raw is not None
        for position, tx in enumerate(block.transactions):
            location = index.tx_location(tx.txid)
            assert location is not None and location.position == position
            assert Transaction.decode(slice_transaction(raw, location)) == tx
    index.close()


def test_a_step_ends_after_the_block_that_passes_its_output_budget(
    chain: ChainState, tmp_path: Path
) -> None:
    """A catch-up step is bounded by work as well as by blocks: 101 coinbases (one output
    each, and the genesis block) with a budget of 10 outputs take 11 steps of 10 blocks."""
    main = ChainBuilder(miner_key=MINER)
    main.mine(101)
    feed(chain, main.blocks[1:])
    index = AddressIndex(tmp_path / "index.sqlite", chain.params)
    steps = 1
    while not index.sync(chain, max_blocks=500, max_outputs=10):
        steps += 1
    assert steps == 11
    check_against_chain(index, chain, tmp_path)
    index.close()


def test_the_index_waits_while_the_node_is_far_behind(chain: ChainState, tmp_path: Path) -> None:
    """As Bitcoin Core's optional indexes do: while the best header is far ahead, neither the
    catch-up task nor the chain listener indexes blocks; once the chain is close, the listener
    wakes the catch-up task."""
    from types import SimpleNamespace

    from node.api.context import ApiContext
    from node.api.settings import ApiSettings
    from node.metrics import NodeMetrics

    main = ChainBuilder(miner_key=MINER)
    main.mine(30)
    best = SimpleNamespace(height=1000)
    node = SimpleNamespace(
        params=chain.params, chain=chain, netsync=SimpleNamespace(best_header=best)
    )
    context = ApiContext(node, ApiSettings(sync_lag_blocks=6), NodeMetrics(), "token")  # type: ignore[arg-type]
    woken: list[bool] = []
    context.wake_indexer = lambda: woken.append(True)
    index = AddressIndex(tmp_path / "index.sqlite", chain.params)
    context.attach(index)

    def index_waiting() -> bool:  # a fresh read each time: mypy would keep an assert's narrowing
        return context.index_waiting

    feed(chain, main.blocks[1:21])
    assert context.index_catch_up_step() is True  # nothing to do for now: it waits
    assert index_waiting() and not index.is_synced(chain) and not woken
    best.height = 22
    feed(chain, main.blocks[21:])  # close to the best header now: the listener wakes the task
    assert woken and not index_waiting()
    while not context.index_catch_up_step():
        pass
    check_against_chain(index, chain, tmp_path)
    context.detach()
