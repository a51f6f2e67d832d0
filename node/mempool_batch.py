"""Accepting a batch of transactions (concurrent ``POST /v1/tx`` offers) with their signatures
verified together, in parallel, ahead of the ordinary one-by-one acceptance.

May import consensus, the other ``node.mempool_*`` modules, ``node.sigcache`` and the standard
library (``node.mempool`` only for typing). Three steps, all on the chain thread:

1. ``batch_signature_jobs``: for each transaction that cheap checks do not already refuse (not
   in the mempool, every input found in the UTXO set, the mempool or an earlier transaction of
   the batch, the fee floors met), the signature jobs ``accept`` would verify;
2. ``verify_many`` (a ``node.sigcache.ThreadVerifier``) verifies them all at once, and the jobs
   that verified go into the mempool's ``SignatureCache``;
3. each transaction, in order, goes through ``Mempool.accept`` unchanged: every check, in the
   same order, with the same errors; its last check takes verified signatures from the cache.

Step 1 is a guess: if it gets a transaction's inputs wrong (an earlier transaction of the batch
was refused, or replaced something), the cache simply misses and ``accept`` verifies as always.
The cache is emptied when the batch is done. Step 1 also hands ``accept`` the jobs it worked out
(``SignatureCache.signature_jobs``), so each signature hash is computed once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from consensus.errors import ConsensusError
from consensus.transaction import Transaction, TxOut
from consensus.tx_rules import signature_jobs
from consensus.utxo import SignatureJob
from node.mempool_errors import MempoolError
from node.mempool_types import AcceptResult

if TYPE_CHECKING:
    from node.mempool import Mempool

VerifyMany = Callable[[Sequence[SignatureJob]], list[bool]]
BatchResult = AcceptResult | ConsensusError | MempoolError
Planned = tuple[
    Transaction, list[TxOut], list[SignatureJob]
]  # a transaction, what it spends, its jobs
FeeCaps = Sequence[int | None] | None  # per transaction, the max_fee_rate its sender allows


def batch_signature_jobs(pool: Mempool, txs: Sequence[Transaction], now: int) -> list[Planned]:
    """Step 1 (see the module docstring): for each plausible transaction of the batch, the
    outputs it spends and its signature jobs. Changes nothing."""
    entries = pool.graph.entries
    coins = pool.chain.coins
    chain_id = pool.params.chain_id
    in_batch: dict[bytes, Transaction] = {}
    planned: list[Planned] = []
    for tx in txs:
        txid = tx.txid
        if txid in entries or txid in in_batch or not tx.inputs:
            continue
        in_batch[txid] = tx
        if len(tx.witnesses) != len(tx.inputs):
            continue  # sanity refuses it
        spent: list[TxOut] = []
        for outpoint in tx.inputs:
            entry = entries.get(outpoint.txid)
            parent = entry.tx if entry is not None else in_batch.get(outpoint.txid)
            if parent is not None:
                if outpoint.vout >= len(parent.outputs):
                    break
                spent.append(parent.outputs[outpoint.vout])
                continue
            coin = coins.get_coin(outpoint)
            if coin is None:
                break  # an orphan, or already spent: ``accept`` says which
            spent.append(coin.output)
        else:
            fee = sum(out.value for out in spent) - tx.total_out()
            if fee < 0:
                continue
            try:
                pool._check_fee_rate(fee, tx.size, now)
                planned.append((tx, spent, signature_jobs(tx, spent, chain_id)))
            except (ConsensusError, MempoolError, ValueError):
                continue
    return planned


def accept_batch(
    pool: Mempool,
    txs: Sequence[Transaction],
    now: int,
    verify_many: VerifyMany | None,
    max_fee_rates: FeeCaps = None,
) -> list[BatchResult]:
    """Accept ``txs`` in order; for each, its ``AcceptResult`` or the consensus / mempool error
    that refused it, exactly as ``pool.accept`` one by one would give (each with its entry of
    ``max_fee_rates``, if given). Without ``verify_many``, or for a single transaction, there is
    nothing to verify together: one by one it is."""
    limits = [None] * len(txs) if max_fee_rates is None else max_fee_rates
    if verify_many is None or len(txs) < 2:
        return [_accept_or_error(pool, tx, now, cap) for tx, cap in zip(txs, limits, strict=True)]
    cache = pool.signatures
    chain_id = pool.params.chain_id
    try:
        jobs: list[SignatureJob] = []
        for tx, spent, tx_jobs in batch_signature_jobs(pool, txs, now):
            cache.remember_jobs(tx, chain_id, spent, tx_jobs)
            jobs += tx_jobs
        if jobs:
            cache.add_verified(jobs, verify_many(jobs))
        return [_accept_or_error(pool, tx, now, cap) for tx, cap in zip(txs, limits, strict=True)]
    finally:
        cache.clear()


def _accept_or_error(
    pool: Mempool, tx: Transaction, now: int, max_fee_rate: int | None
) -> BatchResult:
    try:
        return pool.accept(tx, now, None, max_fee_rate)
    except (ConsensusError, MempoolError) as exc:
        return exc
