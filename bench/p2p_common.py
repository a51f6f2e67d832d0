"""Shared pieces of the P2P benchmarks: funding coins in an in-memory chain, a chain cache on
disk, resident memory of a process, and the 2-process Ed25519 verification ceiling.

The nodes themselves are the functional test framework's ``TestNode`` (``mode="process"``:
each node its own process, with a loopback control channel; ``mode="cli"``: the plain
``seedchain node`` daemon).
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import msgpack
from common import ed25519_verify_ceiling

from consensus.block import Block
from consensus.params import REGTEST
from consensus.transaction import OutPoint, Transaction, TxOut
from consensus.utxo import connect_block
from tests.framework.factory import ChainBuilder, Key, spend

FANOUT = 2_000  # outputs per funding transaction (about 58 kB)
FANOUTS_PER_BLOCK = 15
FEE = 500
CACHE = Path(tempfile.gettempdir()) / "seedchain-bench"


def add_unverified(chain: ChainBuilder, block: Block) -> Block:
    """Append ``block`` to ``chain`` without checking its signatures (we made them)."""
    connect_block(block, chain.height + 1, chain.view, chain.params, verifier=None)
    chain.blocks.append(block)
    return block


def fund(chain: ChainBuilder, coins: int, owner: Key) -> list[tuple[OutPoint, TxOut]]:
    """Mine coinbases, let them mature, and fan them out into ``coins`` outputs paying
    ``owner`` (in blocks of at most 15 funding transactions)."""
    fanouts = -(-coins // FANOUT)
    first = chain.height + 1
    for _ in range(fanouts):
        add_unverified(chain, chain.make_block())
    for _ in range(chain.params.coinbase_maturity):
        add_unverified(chain, chain.make_block())
    made: list[tuple[OutPoint, TxOut]] = []
    funding: list[Transaction] = []
    for h in range(first, first + fanouts):
        outpoint, out = chain.coinbase_coin(h)
        value = out.value // FANOUT - 10
        tx = spend([(outpoint, out, chain.miner_key)], [TxOut(value, owner.lock)] * FANOUT)
        funding.append(tx)
        made += [(OutPoint(tx.txid, i), tx.outputs[i]) for i in range(FANOUT)]
    for start in range(0, len(funding), FANOUTS_PER_BLOCK):
        batch = funding[start : start + FANOUTS_PER_BLOCK]
        fees = sum(50 * 10**8 - tx.total_out() for tx in batch)
        add_unverified(chain, chain.make_block(batch, extra_fee=fees))
    return made[:coins]


def spend_each(coins: Sequence[tuple[OutPoint, TxOut]], owner: Key) -> list[Transaction]:
    """One signed one-input, one-output transaction per coin (174 bytes each)."""
    return [spend([(op, out, owner)], [TxOut(out.value - FEE, owner.lock)]) for op, out in coins]


def save_blocks(path: Path, blocks: Sequence[Block]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(msgpack.packb([b.encoded for b in blocks], use_bin_type=True))
    tmp.replace(path)


def load_blocks(path: Path) -> list[Block]:
    raw = msgpack.unpackb(path.read_bytes(), raw=False, max_bin_len=1 << 30, max_array_len=1 << 24)
    return [Block.decode(data, REGTEST.max_block_size) for data in raw]


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB (10^6 bytes), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no VmRSS for {pid}")


def _ceiling_worker(n: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    queue.put(ed25519_verify_ceiling(n))


def two_process_verify_ceiling(n: int = 6000) -> float:
    """Ed25519 verifications per second of two processes running at once (the 2-core
    ceiling measured, not doubled)."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [context.Process(target=_ceiling_worker, args=(n, queue)) for _ in range(2)]
    for w in workers:
        w.start()
    rates = [queue.get(timeout=120) for _ in workers]
    for w in workers:
        w.join()
    return sum(rates)


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.start
