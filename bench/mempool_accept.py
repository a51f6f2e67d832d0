"""Mempool acceptance throughput: independent 1-input / 2-output transactions per second through
``Mempool.accept`` (full consensus and policy checks, one Ed25519 verification each), against
the Ed25519 verification ceiling of ``cryptography`` on one core measured in the same run.

The transactions are signed and encoded before timing; each timed run decodes fresh copies
first (untimed), so txids and signature hashes are computed inside ``accept`` as they would be
for transactions arriving from peers. Best of ``--runs`` for both figure and ceiling.

    python bench/mempool_accept.py [--txs N] [--runs R]
"""

from __future__ import annotations

import argparse
import hashlib
import time
from dataclasses import dataclass, field

from common import ed25519_verify_ceiling, emit

from consensus.addresses import key_hash, lock_for_key_hash
from consensus.params import REGTEST
from consensus.signing import public_key, sign_transaction
from consensus.transaction import OutPoint, Transaction, TxOut
from consensus.utxo import Coin, DictCoinView
from node.mempool import Mempool
from node.runtime import tune_gc

NOW = REGTEST.genesis_time + 10**6
KEYS = 64
VALUE = 10**8
FEE = 1_000


@dataclass
class StaticChain:
    """A chain view whose UTXO set holds the coins the transactions spend."""

    coins: DictCoinView = field(default_factory=DictCoinView)
    tip_height: int = 1_000
    tip_median_time_past: int = NOW - 600


def prepare(count: int) -> tuple[StaticChain, list[bytes]]:
    """``count`` funding coins and, for each, a signed payment spending it (encoded)."""
    privates = [hashlib.sha256(b"bench-key" + bytes([i])).digest() for i in range(KEYS)]
    locks = [lock_for_key_hash(key_hash(public_key(p))) for p in privates]
    chain = StaticChain()
    encoded: list[bytes] = []
    for i in range(count):
        key = i % KEYS
        outpoint = OutPoint(hashlib.sha256(b"bench-coin" + i.to_bytes(4, "big")).digest(), 0)
        chain.coins.add_coin(outpoint, Coin(VALUE, locks[key], 1, False))
        spent = TxOut(VALUE, locks[key])
        outputs = (TxOut(VALUE // 2, locks[(key + 1) % KEYS]), TxOut(VALUE // 2 - FEE, locks[key]))
        unsigned = Transaction(1, (outpoint,), outputs, 0, b"", ())
        tx = sign_transaction(unsigned, [privates[key]], [spent], REGTEST.chain_id)
        encoded.append(tx.encoded)
    return chain, encoded


def measure(chain: StaticChain, encoded: list[bytes]) -> float:
    txs = [Transaction.decode(data) for data in encoded]
    pool = Mempool(REGTEST, chain)
    accept = pool.accept
    start = time.perf_counter()
    for tx in txs:
        accept(tx, NOW)
    elapsed = time.perf_counter() - start
    if pool.count != len(txs):
        raise SystemExit(f"only {pool.count} of {len(txs)} accepted")
    return len(txs) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--txs", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    chain, encoded = prepare(args.txs)
    tune_gc()  # as the node does after start-up
    figures: list[float] = []
    ceilings: list[float] = []
    for _ in range(args.runs):
        ceilings.append(ed25519_verify_ceiling())
        figures.append(measure(chain, encoded))
    figure, ceiling = max(figures), max(ceilings)
    emit(
        {
            "benchmark": "mempool_accept",
            "unit": "tx/s",
            "figure": round(figure),
            "ceiling": round(ceiling),
            "ratio": round(figure / ceiling, 3),
            "target_ratio": 0.6,
            "txs": args.txs,
        }
    )


if __name__ == "__main__":
    main()
