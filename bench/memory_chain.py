"""Memory of a node's chain state: a chain of 10,000 blocks holding 1,000,000 unspent outputs
(each coinbase pays 100 outputs) connected into a SQLite chain state in this process. Prints
the peak resident set size, the limit from issue 2 (300 MB), the resident size of the same
process before the chain was built (the baseline measured in this run) and the ratio.

    python bench/memory_chain.py [--blocks N] [--outputs-per-block K]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from common import emit

from consensus.addresses import lock_for_key_hash
from consensus.assemble import assemble_block, solve_block
from consensus.coinbase import block_subsidy
from consensus.params import REGTEST
from consensus.transaction import TxOut
from node.chain import ChainState
from node.runtime import tune_gc

LIMIT_MB = 300
NOW = REGTEST.genesis_time + 10**9


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blocks", type=int, default=10_000)
    parser.add_argument("--outputs-per-block", type=int, default=100)
    args = parser.parse_args()
    baseline = rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        state = ChainState.open(Path(tmp), REGTEST)
        tune_gc()
        prev = state.tip
        start = time.perf_counter()
        for height in range(1, args.blocks + 1):
            value = block_subsidy(height, REGTEST.halving_interval) // args.outputs_per_block
            outputs = [
                TxOut(value, lock_for_key_hash((height * 1000 + i).to_bytes(20, "big")))
                for i in range(args.outputs_per_block)
            ]
            block = assemble_block(
                prev.hash, height, prev.time + 1, REGTEST.pow_limit_bits, [], outputs
            )
            solved = solve_block(block)
            assert solved is not None
            state.accept_block(solved, NOW)
            prev = state.tip
        elapsed = time.perf_counter() - start
        coins = state.store.coin_count()
        end_rss = rss_mb()
        state.close()
    peak = peak_rss_mb()
    emit(
        {
            "benchmark": "memory_chain",
            "unit": "MB",
            "blocks": args.blocks,
            "unspent_outputs": coins,
            "figure": round(peak, 1),
            "rss_at_end": round(end_rss, 1),
            "baseline_rss": round(baseline, 1),
            "ceiling": LIMIT_MB,
            "ratio": round(peak / LIMIT_MB, 3),
            "seconds": round(elapsed, 1),
        }
    )


if __name__ == "__main__":
    main()
