"""A process that keeps extending and reorganising a regtest chain in DATADIR until killed.

Used by the crash-safety test: the parent SIGKILLs it at random instants and checks that the
database reopens cleanly and ``verify`` passes. Each round builds a branch from 0-3 blocks below
the tip that is one block longer than the active chain above the fork, so most rounds reorg.
Blocks carry transactions that spend mature coinbases into several outputs, so a kill can land
in the middle of large UTXO changes.

    python -m tests.framework.crash_worker DATADIR SEED
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from consensus.assemble import assemble_block, solve_block
from consensus.block_rules import next_bits
from consensus.coinbase import block_subsidy
from consensus.params import REGTEST
from consensus.transaction import OutPoint, TxOut
from node.blockindex import ChainEntry
from node.chain import ChainState
from tests.framework.factory import Key, spend

MINER = Key.from_index(0)
NOW = REGTEST.genesis_time + 10**8


def build_on(state: ChainState, parent: ChainEntry, rng: random.Random) -> None:
    height = parent.height + 1
    txs = []
    if height > 100 + 1:
        source = state.get_block(parent.ancestor(height - 100).hash)
        assert source is not None
        coinbase = source.transactions[0]
        pieces = rng.randint(1, 40)
        value = coinbase.outputs[0].value // pieces - 1000
        txs.append(
            spend(
                [(OutPoint(coinbase.txid, 0), coinbase.outputs[0], MINER)],
                [TxOut(value, MINER.lock)] * pieces,
            )
        )
    block = assemble_block(
        parent.hash,
        height,
        parent.time + 1,
        next_bits(parent, REGTEST),
        txs,
        [TxOut(block_subsidy(height, REGTEST.halving_interval), MINER.lock)],
        tag=rng.randbytes(8),
    )
    solved = solve_block(block)
    assert solved is not None
    state.accept_block(solved, NOW)


def main(datadir: Path, seed: int) -> None:
    rng = random.Random(seed)
    state = ChainState.open(datadir, REGTEST)
    print("ready", state.height, flush=True)
    while True:
        tip = state.tip
        depth = rng.randint(0, min(3, tip.height))
        parent = tip.ancestor(tip.height - depth)
        for _ in range(depth + 1):
            build_on(state, parent, rng)
            child = max((c for c in parent.children if not c.failed), key=lambda c: c.seq)
            parent = child


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
