"""Property test: after any sequence of accepts (new, children, replacements, packages whose child
pays for its parent), fee deltas (prioritisetransaction), blocks (confirming,
conflicting), block disconnections, expiry and removals under tight limits, every internal index
of the mempool (spent outpoints, parent/child links, ancestor/descendant totals, byte total)
agrees with a recomputation from scratch, and every entry still spends existing coins."""

from __future__ import annotations

import contextlib
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consensus.assemble import assemble_block
from consensus.block import Block
from consensus.errors import ConsensusError
from consensus.hashing import ZERO_HASH
from consensus.params import REGTEST
from consensus.transaction import OutPoint, Transaction, TxOut
from consensus.utxo import BlockUndo, connect_block, undo_block
from node.mempool import Mempool
from node.mempool_errors import MempoolError
from node.mempool_policy import MempoolPolicy
from tests.unit.node.test_mempool_support import (
    ALICE,
    BOB,
    NOW,
    FakeChain,
    Spendable,
    fund,
    out,
    pay,
    pay_rate,
)

OPS = ("new", "new", "new", "child", "child", "child", "replace", "replace", "block", "conflict",
       "disconnect", "expire", "remove", "package", "package", "prioritise")
Stack = list[tuple[Block, BlockUndo]]


def _spendable(pool: Mempool, chain: FakeChain, outpoint: OutPoint) -> Spendable | None:
    parent = pool.get(outpoint.txid)
    if parent is not None:
        return _output(parent.tx, outpoint.vout)
    coin = chain.coins.get_coin(outpoint)
    if coin is None:
        return None
    return outpoint, TxOut(coin.value, coin.lock), ALICE if coin.lock == ALICE.lock else BOB


def _output(tx: Transaction, index: int) -> Spendable:
    return out(tx, index, ALICE if tx.outputs[index].lock == ALICE.lock else BOB)


def _connect(chain: FakeChain, txs: list[Transaction], stack: Stack) -> Block:
    height = chain.tip_height + 1
    block = assemble_block(ZERO_HASH, height, NOW, 0x207FFFFF, txs, [TxOut(1, BOB.lock)])
    undo = connect_block(block, height, chain.coins, REGTEST, verifier=None)
    chain.tip_height = height
    stack.append((block, undo))
    return block


def _step(pool: Mempool, chain: FakeChain, fresh: list[Spendable], stack: Stack, op: str,
          rng: random.Random, now: int) -> None:
    txids = pool.txids()
    if op == "new" and fresh:
        pool.accept(pay_rate([fresh.pop()], rng.uniform(1, 20), outputs=rng.randint(1, 3)), now)
    elif op == "child" and txids:
        parent = pool.get(rng.choice(txids))
        assert parent is not None
        free = [i for i in range(len(parent.tx.outputs))
                if pool.spender_of(OutPoint(parent.txid, i)) is None]
        if free:
            pool.accept(pay_rate([_output(parent.tx, rng.choice(free))], rng.uniform(1, 30)), now)
    elif op == "replace" and txids:
        victim = pool.get(rng.choice(txids))
        assert victim is not None
        spent = _spendable(pool, chain, victim.tx.inputs[0])
        if spent is not None:
            pool.accept(pay([spent], victim.descendant_fees + rng.randint(0, 20_000), key=BOB), now)
    elif op == "block" and txids:
        picked = set(rng.sample(txids, rng.randint(1, len(txids))))
        for txid in list(picked):
            picked |= pool.ancestors(txid)
        ordered = sorted(picked, key=lambda t: pool.get(t).ancestor_count)  # type: ignore[union-attr]
        block = _connect(chain, [pool.get(t).tx for t in ordered], stack)  # type: ignore[union-attr]
        pool.block_connected(block, now=now)
    elif op == "conflict" and txids:
        victim = pool.get(rng.choice(txids))
        assert victim is not None
        outpoint = victim.tx.inputs[0]
        coin = chain.coins.get_coin(outpoint)
        if coin is not None:
            spent = _spendable(pool, chain, outpoint)
            assert spent is not None
            rival = pay([spent], 777, key=BOB)
            pool.block_connected(_connect(chain, [rival], stack), now=now)
    elif op == "disconnect" and stack:
        block, undo = stack.pop()
        undo_block(block, undo, chain.coins)
        chain.tip_height -= 1
        pool.reorg([block], [], now)
    elif op == "package" and fresh:
        low = pay([fresh.pop()], rng.choice([0, 0, 50, 400]), outputs=2)
        child = pay([_output(low, 0)], rng.randint(0, 3000))
        before = set(pool.txids())
        result = pool.accept_package([low, child], now)
        if result.package_fee_rate is None and low.txid not in result.accepted:
            assert set(pool.txids()) <= before | {low.txid, child.txid}
            assert child.txid not in pool  # no child without its parent
    elif op == "prioritise" and txids:
        pool.prioritise(rng.choice(txids), rng.randint(-5000, 5000))
    elif op == "expire":
        pool.expire(now)
    elif op == "remove" and txids:
        pool.remove(rng.choice(txids))


def _check(pool: Mempool, chain: FakeChain) -> None:
    pool.check()
    entries = pool.graph.entries
    assert pool.bytes == sum(e.size for e in entries.values())
    assert pool.total_fees == sum(e.fee for e in entries.values())
    assert pool.count == len(entries)
    for entry in entries.values():
        for outpoint in entry.tx.inputs:
            assert pool.spender_of(outpoint) == entry.txid
            parent = entries.get(outpoint.txid)
            if parent is None:
                assert chain.coins.get_coin(outpoint) is not None
            else:
                assert outpoint.vout < len(parent.tx.outputs)
        assert entry.ancestor_count <= 1 + len(entries)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 2**32 - 1)), max_size=30))
def test_internal_indexes_stay_consistent(ops: list[tuple[str, int]]) -> None:
    chain = FakeChain()
    policy = MempoolPolicy(
        max_bytes=1600,
        max_ancestor_count=4,
        max_descendant_count=5,
        max_replacements=6,
        expiry_seconds=3000,
    )
    pool = Mempool(REGTEST, chain, policy)
    fresh = fund(chain, 30)
    stack: Stack = []
    now = NOW
    for op, seed in ops:
        rng = random.Random(seed)
        now += seed % 200
        with contextlib.suppress(MempoolError, ConsensusError):
            _step(pool, chain, fresh, stack, op, rng, now)
        _check(pool, chain)
