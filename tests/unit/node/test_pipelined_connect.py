"""Pipelined batch connection with signatures checked in worker processes: while one batch's
signatures are checked, the next batch is applied on top of it; a bad signature anywhere is
pinpointed, nothing after it is connected, and the UTXO set is exactly the good prefix's."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path

import pytest

from consensus import errors as E
from consensus.block import Block
from consensus.signing import verify_batch
from consensus.transaction import TxOut
from consensus.utxo import DictCoinView, Verifier
from node.chain import CONNECT_BATCH_BLOCKS, ChainState, ChainUpdate
from node.coins import utxo_set_hash
from node.sigverify import MIN_PARALLEL_JOBS, ParallelVerifier, Pending
from node.verify import verify_datadir
from tests.framework.factory import ChainBuilder, Key, spend

NOW = 2_000_000_000
ALICE = Key.from_index(1)
TXS_PER_BLOCK = 3
BLOCKS = 80  # after the 100 + TXS_PER_BLOCK * BLOCKS mined to fund them: several batches


@pytest.fixture(scope="module")
def verifier() -> Iterator[ParallelVerifier]:
    pool = ParallelVerifier(1)
    yield pool
    pool.close()


def view_hash(view: DictCoinView) -> bytes:
    return utxo_set_hash(sorted((op.key(), coin) for op, coin in view.coins.items()))


def build(bad_at: int | None) -> tuple[ChainBuilder, ChainBuilder, list[Block]]:
    """The chain (blocks after the funding part; block ``bad_at`` of them carries one bad
    signature), a builder holding only the good prefix, and the spending blocks."""
    b = ChainBuilder()
    b.mine(100 + TXS_PER_BLOCK * BLOCKS)
    good = b.fork(b.height)
    spending: list[Block] = []
    for i in range(BLOCKS):
        txs = []
        for j in range(TXS_PER_BLOCK):
            height = 1 + i * TXS_PER_BLOCK + j
            tx = spend([(*b.coinbase_coin(height), b.miner_key)], [TxOut(10**9, ALICE.lock)])
            if i == bad_at and j == 1:
                w = tx.witnesses[0]
                bad_sig = bytes([w.signature[0] ^ 1]) + w.signature[1:]
                tx = tx.with_witnesses((w._replace(signature=bad_sig),))
            txs.append(tx)
        block = b.make_block(txs, extra_fee=TXS_PER_BLOCK * 4 * 10**9)
        if bad_at is None or i < bad_at:
            b.add(block)
            good.add(block)
        else:
            b.blocks.append(block)  # not applied to the builder's view: it is invalid or after
        spending.append(block)
    return b, good, spending


def funded_state(
    tmp_path: Path, b: ChainBuilder, spending: list[Block], verifier: Verifier, stored: int
) -> tuple[ChainState, int]:
    """A chain state with the funding blocks connected and the first ``stored`` spending
    blocks stored, not yet connected; and the funding part's height."""
    state = ChainState.open(tmp_path, b.params, verifier=verifier)
    funding = len(b.blocks) - 1 - len(spending)
    for block in b.blocks[1 : funding + 1]:
        state.accept_block(block, NOW)
    for block in spending[:stored]:
        state.accept_block(block, NOW, activate=False)
    return state, funding


def test_the_batches_are_big_enough_for_the_workers() -> None:
    assert CONNECT_BATCH_BLOCKS * TXS_PER_BLOCK >= MIN_PARALLEL_JOBS
    assert BLOCKS > 2 * CONNECT_BATCH_BLOCKS


def test_all_good_connects_everything(tmp_path: Path, verifier: ParallelVerifier) -> None:
    b, _, _ = build(None)
    state = ChainState.open(tmp_path, b.params, verifier=verifier)
    for block in b.blocks[1:]:
        state.accept_block(block, NOW, activate=False)
    update = state.activate_best_chain()
    assert state.tip.hash == b.tip.hash and not update.failed
    assert [h for _, h in update.connected] == list(range(1, b.height + 1))
    assert state.utxo_hash() == view_hash(b.view)
    state.close()
    assert verify_datadir(tmp_path, b.params, check_signatures=True).height == b.height


@pytest.mark.parametrize("bad_at", [0, 5, CONNECT_BATCH_BLOCKS + 3, BLOCKS - 1])
def test_bad_signature_is_pinpointed(
    tmp_path: Path, verifier: ParallelVerifier, bad_at: int
) -> None:
    b, good, spending = build(bad_at)
    # The spending blocks stored, then connected in one activation, in pipelined batches.
    state, _ = funded_state(tmp_path, b, spending, verifier, len(spending))
    update = state.activate_best_chain()
    assert state.height == good.height, "connected up to the block before the bad one"
    assert [type(e) for _, e in update.failed] == [E.BadSignature]
    assert update.failed[0][0] == spending[bad_at].hash
    assert state.entries[spending[-1].hash].failed
    assert state.utxo_hash() == view_hash(good.view)
    state.close()
    report = verify_datadir(tmp_path, b.params, check_signatures=True)
    assert report.tip_hash == good.tip.hash


class GatedVerifier:
    """A verifier whose submitted batches stay outstanding until the test releases them, so
    that an activation waits at a known point."""

    def __init__(self) -> None:
        self.futures: list[Future[int]] = []

    def __call__(self, jobs: Sequence[tuple[bytes, bytes, bytes]]) -> int:
        return verify_batch(jobs)

    def submit(self, jobs: Sequence[tuple[bytes, bytes, bytes]]) -> Pending:
        future: Future[int] = Future()
        self.futures.append(future)
        return Pending(jobs=jobs, chunks=[(list(jobs), future)], size=len(jobs))

    def release(self) -> None:
        for future in self.futures:
            if not future.done():
                future.set_result(-1)


def run(steps: Generator[object, None, ChainUpdate], verifier: GatedVerifier) -> ChainUpdate:
    while True:
        verifier.release()
        try:
            next(steps)
        except StopIteration as stop:
            update: ChainUpdate = stop.value
            return update


def test_blocks_stored_while_it_waits_join_the_activation(tmp_path: Path) -> None:
    """The chain thread stores blocks while an activation waits for signatures: they extend
    the path being connected instead of waiting for the next activation (so the workers get
    their next batch at once)."""
    b, _, spending = build(None)
    verifier = GatedVerifier()
    state, funding = funded_state(tmp_path, b, spending, verifier, 40)
    steps = state.activation()
    next(steps)  # waiting for the first batch's signatures, the second one submitted too
    assert len(verifier.futures) == 2
    for block in spending[40:]:  # stored meanwhile
        state.accept_block(block, NOW, activate=False)
    verifier.futures[0].set_result(-1)
    next(steps)  # the first batch committed, the third submitted before waiting for the second
    assert len(verifier.futures) == 3 and not verifier.futures[1].done()
    update = run(steps, verifier)
    assert [h for _, h in update.connected] == list(range(funding + 1, b.height + 1))
    assert state.tip.hash == b.tip.hash and not update.more
    assert state.utxo_hash() == view_hash(b.view)
    state.close()


def test_an_activation_takes_on_at_most_its_transaction_budget(tmp_path: Path) -> None:
    b, _, spending = build(None)
    verifier = GatedVerifier()
    state, _ = funded_state(tmp_path, b, spending, verifier, len(spending))
    per_block = TXS_PER_BLOCK + 1  # and the coinbase
    update = run(state.activation(None, 10 * per_block), verifier)
    assert len(update.connected) == 10 and update.more
    update = run(state.activation(None, 10**6), verifier)
    assert state.tip.hash == b.tip.hash and not update.more
    assert state.utxo_hash() == view_hash(b.view)
    state.close()
