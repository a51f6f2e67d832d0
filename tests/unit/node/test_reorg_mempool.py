"""Chain state and mempool wired as the node wires them: the mempool's contents after each
kind of tip change (extension, equal-work branch, reorg, reorg onto an invalid branch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from consensus import errors as E
from consensus.block import Block
from consensus.transaction import OutPoint, Transaction, TxOut
from node.chain import ChainState
from node.mempool import Mempool
from tests.framework.factory import ChainBuilder, Key, spend

NOW = 2_000_000_000
ALICE, BOB = Key.from_index(1), Key.from_index(2)
COIN = 100_000_000


class Wired:
    """A chain state with a mempool listening to it, as node.server wires them."""

    def __init__(self, path: Path, builder: ChainBuilder) -> None:
        self.chain = ChainState.open(path, builder.params)
        self.mempool = Mempool(builder.params, self.chain)
        self.chain.listeners.append(
            lambda u: self.mempool.apply_chain_update(u.disconnected, u.connected, NOW)
        )

    def feed(self, blocks: list[Block]) -> None:
        for block in blocks:
            self.chain.accept_block(block, NOW)

    def txids(self) -> set[bytes]:
        return set(self.mempool.txids())


MINER = Key.from_index(0)  # every shared block below height 101 pays this key


def pay(chain: ChainBuilder, height: int, to: Key, value: int) -> Transaction:
    outpoint, out = chain.coinbase_coin(height)
    return spend([(outpoint, out, MINER)], [TxOut(value, to.lock)])


def test_mempool_follows_extensions_reorgs_and_invalid_branches(tmp_path: Path) -> None:
    a = ChainBuilder()
    a.mine(103)
    node = Wired(tmp_path / "node", a)
    node.feed(a.blocks[1:])

    tx1 = pay(a, 1, ALICE, 49 * COIN)  # fee 1 coin
    tx2 = pay(a, 2, ALICE, 49 * COIN)
    for tx in (tx1, tx2):
        node.mempool.accept(tx, NOW)
    assert node.txids() == {tx1.txid, tx2.txid}

    # An equal-work branch from height 100 does not reorg: the mempool is untouched.
    b = a.fork(100)
    b.miner_key = BOB
    b.mine(3)
    node.feed(b.blocks[101:])
    assert node.chain.tip.hash == a.tip.hash
    assert node.txids() == {tx1.txid, tx2.txid}

    # Extending A with a block that confirms tx1: tx1 leaves, tx2 stays; a child of tx1 enters.
    a.add(a.make_block([tx1], extra_fee=COIN))
    node.feed([a.tip])
    assert node.txids() == {tx2.txid}
    child = spend([(OutPoint(tx1.txid, 0), tx1.outputs[0], ALICE)], [TxOut(48 * COIN, BOB.lock)])
    node.mempool.accept(child, NOW)
    assert node.txids() == {tx2.txid, child.txid}

    # B overtakes with a block that double-spends tx2's coin: reorg. tx1 comes back (its block
    # was disconnected), its child stays (parent back in the mempool), tx2 leaves (conflict).
    tx2_conflict = pay(b, 2, BOB, 48 * COIN)
    b.add(b.make_block([tx2_conflict], extra_fee=2 * COIN))
    b.mine(1)
    node.feed(b.blocks[104:])
    assert node.chain.tip.hash == b.tip.hash
    assert node.txids() == {tx1.txid, child.txid}

    # A branch from 2 below B's tip whose second block is invalid: the node tries it (more work
    # in total), fails, and returns to B with the same mempool and UTXO set.
    c = b.fork(b.height - 2)
    c.miner_key = ALICE
    c.mine(1)
    c.blocks.append(c.make_block(extra_fee=1))  # coinbase pays one unit too much
    c.blocks.append(c.make_block())
    c.blocks.append(c.make_block())
    before_utxo = node.chain.utxo_hash()
    with pytest.raises(E.ConsensusError):
        node.feed(c.blocks[b.height - 1 :])
    assert node.chain.tip.hash == b.tip.hash
    assert node.txids() == {tx1.txid, child.txid}
    assert node.chain.utxo_hash() == before_utxo

    # A node that never saw branch C has the same UTXO set.
    clean = Wired(tmp_path / "clean", b)
    clean.feed(b.blocks[1:])
    assert clean.chain.utxo_hash() == node.chain.utxo_hash()
    node.mempool.check()
    node.chain.close()
    clean.chain.close()
