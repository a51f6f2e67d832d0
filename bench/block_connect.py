"""Block connection throughput: transactions per second for blocks of 1,000 one-input
transactions connected into a SQLite chain state, against the Ed25519 verification ceiling of
one core measured in the same run; then the same with verification spread over processes.

    python bench/block_connect.py [--blocks N] [--processes P]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import ed25519_verify_ceiling, emit

from consensus.block import Block
from consensus.params import REGTEST
from consensus.transaction import OutPoint, TxOut
from node.chain import ChainState
from node.runtime import tune_gc
from node.sigverify import ParallelVerifier
from tests.framework.factory import ChainBuilder, Key, spend

TXS_PER_BLOCK = 1000
NOW = REGTEST.genesis_time + 10**8


def build_chain(blocks: int) -> list[Block]:
    """101 blocks, a block fanning coinbases out into coins, then ``blocks`` blocks of 1,000
    one-input, two-output transactions."""
    chain = ChainBuilder(spacing=1)
    chain.mine(100 + blocks * TXS_PER_BLOCK // 2000 + 1)
    alice, bob = Key.from_index(1), Key.from_index(2)
    fan = []
    for h in range(1, blocks * TXS_PER_BLOCK // 2000 + 2):
        outpoint, out = chain.coinbase_coin(h)
        fan.append(
            spend(
                [(outpoint, out, chain.miner_key)],
                [TxOut(out.value // 2000 - 10, alice.lock)] * 2000,
            )
        )
    chain.add(chain.make_block(fan, extra_fee=sum(50 * 10**8 - tx.total_out() for tx in fan)))
    coins = [(OutPoint(tx.txid, i), tx.outputs[i]) for tx in fan for i in range(len(tx.outputs))]
    for b in range(blocks):
        batch = coins[b * TXS_PER_BLOCK : (b + 1) * TXS_PER_BLOCK]
        txs = [
            spend(
                [(op, out, alice)],
                [TxOut(out.value // 2, bob.lock), TxOut(out.value // 2 - 200, alice.lock)],
            )
            for op, out in batch
        ]
        chain.add(chain.make_block(txs, extra_fee=200 * len(txs)))
    return chain.blocks


def measure(blocks: list[Block], setup_height: int, datadir: Path, processes: int) -> float:
    verifier = ParallelVerifier(processes) if processes else None
    if verifier is not None:
        verifier.warm()  # as a node does once it finds itself behind: not part of the timing
    kwargs = {"verifier": verifier} if verifier else {}
    state = ChainState.open(datadir, REGTEST, **kwargs)
    for block in blocks[1 : setup_height + 1]:
        state.accept_block(block, NOW)
    raw = [b.encoded for b in blocks[setup_height + 1 :]]
    tune_gc()  # as the node does after loading
    start = time.perf_counter()
    for data in raw:
        state.accept_block(Block.decode(data, REGTEST.max_block_size), NOW)
    elapsed = time.perf_counter() - start
    assert state.height == len(blocks) - 1
    state.close()
    if verifier:
        verifier.close()
    return len(raw) * TXS_PER_BLOCK / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    blocks = build_chain(args.blocks)
    setup_height = len(blocks) - 1 - args.blocks
    ceiling = ed25519_verify_ceiling()
    with tempfile.TemporaryDirectory() as tmp:
        one_core = measure(blocks, setup_height, Path(tmp) / "a", 0)
        parallel = measure(blocks, setup_height, Path(tmp) / "b", args.processes)
    emit(
        {
            "benchmark": "block_connect",
            "unit": "tx/s",
            "figure": round(one_core),
            "ceiling": round(ceiling),
            "ratio": round(one_core / ceiling, 3),
            "target_ratio": 0.6,
        }
    )
    emit(
        {
            "benchmark": "block_connect_parallel",
            "unit": "tx/s",
            "processes": args.processes,
            "figure": round(parallel),
            "ceiling": round(ceiling),
            "ratio": round(parallel / ceiling, 3),
            "gain_over_one_core": round(parallel / one_core, 3),
        }
    )


if __name__ == "__main__":
    main()
