"""Accepting one transaction into the mempool: every check, cheapest first (sanity,
standardness, finality, inputs against the chain view with mempool outputs laid over it,
amounts, fee-rate floors, package limits, replacement rules, signatures last), then the commit
(replacements out, the entry in, size cap enforced; all undone if the new entry would be
evicted). Nothing changes until every check has passed.

Module-level functions that take the ``node.mempool.Mempool``; ``Mempool.accept`` and the reorg
path call them. May import consensus, the other ``node.mempool_*`` modules, ``node.txgraph``
and the standard library (``node.mempool`` only for typing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from consensus.errors import BadSignature, MissingInputs, UnexpectedCoinbase
from consensus.transaction import OutPoint, Transaction
from consensus.tx_rules import (
    check_transaction_final,
    check_transaction_inputs,
    check_transaction_sanity,
)
from consensus.utxo import Coin
from node.mempool_errors import AlreadyConfirmed, AlreadyInMempool, MaxFeeExceeded, MempoolFull
from node.mempool_policy import check_standard
from node.mempool_rules import (
    check_chain_limits,
    check_conflicts_bound,
    check_disjoint,
    check_replacement,
)
from node.mempool_types import MEMPOOL_HEIGHT, AcceptResult, MissingParents
from node.txgraph import MempoolEntry

if TYPE_CHECKING:
    from node.mempool import Mempool


def accept_one(
    pool: Mempool,
    tx: Transaction,
    now: int,
    from_block: bool = False,
    entered: int | None = None,
    *,
    dry_run: bool = False,
    package: bool = False,
    max_fee_rate: int | None = None,
) -> AcceptResult:
    """Check ``tx`` against the chain view and mempool (cheapest first, signatures last) and
    commit it; raises the first broken rule (``MissingParents`` for unknown inputs). The entry's
    time is ``entered`` when given (a transaction saved by an earlier run), else ``now``. With
    ``dry_run`` every check runs and nothing is committed: the result says what the commit
    would have replaced (Core's ``testmempoolaccept``; a full mempool's trimming is not
    simulated, its rolling minimum fee rate is checked). ``package``: a member of a package
    judged as a whole (``node.mempool_package``): its own fee floors are waived and the size cap
    is left to the package's end. ``max_fee_rate``: refuse a fee above this rate (units/byte)
    with ``MaxFeeExceeded``, the API's guard for its caller."""
    graph = pool.graph
    entries = graph.entries
    policy = pool.policy
    txid = tx.txid
    if txid in entries:
        raise AlreadyInMempool(f"{tx.txid_hex} is already in the mempool")
    check_transaction_sanity(tx)
    if not tx.inputs:
        raise UnexpectedCoinbase("a coinbase is valid only as the first transaction of a block")
    check_standard(tx, policy)
    chain = pool.chain
    spend_height = chain.tip_height + 1
    check_transaction_final(tx, spend_height, chain.tip_median_time_past)
    coins: list[Coin] = []
    parents: set[bytes] = set()
    conflicts: set[bytes] = set()
    missing: list[OutPoint] = []
    chain_coins = chain.coins
    spenders = graph.spenders
    for outpoint in tx.inputs:
        spender = spenders.get(outpoint)
        if spender is not None:
            conflicts.add(spender)
        parent = entries.get(outpoint.txid)
        if parent is None:
            coin = chain_coins.get_coin(outpoint)
            if coin is None:
                missing.append(outpoint)
            else:
                coins.append(coin)
            continue
        if outpoint.vout >= len(parent.tx.outputs):
            raise MissingInputs(f"{tx.txid_hex} spends {outpoint}, which does not exist")
        out = parent.tx.outputs[outpoint.vout]
        coins.append(Coin(out.value, out.lock, MEMPOOL_HEIGHT, False))
        parents.add(outpoint.txid)
    if missing:
        if is_confirmed(pool, tx):
            raise AlreadyConfirmed(f"{tx.txid_hex} is already in the chain")
        raise MissingParents(tuple(dict.fromkeys(op.txid for op in missing)))
    if conflicts:
        check_conflicts_bound(graph, conflicts, policy)
    fee = check_transaction_inputs(tx, coins, spend_height, pool.params)
    size = tx.size
    if max_fee_rate is not None and fee > max_fee_rate * size:
        raise MaxFeeExceeded(
            f"fee {fee} for {size} bytes is over the {max_fee_rate} units/byte allowed"
            " (maxfeerate; 0 lifts the limit)"
        )
    delta = pool.deltas.get(tx.txid, 0) if pool.deltas else 0
    if not (from_block or package):
        pool._check_fee_rate(fee + delta, size, now)
    ancestors = graph.ancestors_of(parents, policy.max_ancestor_count) if parents else set()
    replaced: set[bytes] = set()
    if conflicts:
        check_disjoint(ancestors, conflicts)
        replaced = graph.with_descendants(conflicts)
    if ancestors or replaced or size > policy.max_ancestor_size:
        check_chain_limits(graph, size, ancestors, replaced, policy)
    if conflicts:
        check_replacement(graph, tx, fee + delta, size, conflicts, replaced, policy)
    if not from_block:  # a disconnected block's transactions were verified in that block
        cache = pool.signatures  # filled by accept_batch; empty otherwise
        jobs = cache.signature_jobs(tx, [c.output for c in coins], pool.params.chain_id)
        bad = cache.first_bad(jobs, pool.verifier)
        if bad >= 0:
            raise BadSignature(f"input {bad} of {tx.txid_hex}: signature does not verify")
    if dry_run:
        return AcceptResult(tx.txid, fee, size, replaced=tuple(sorted(replaced)))
    return commit(
        pool,
        tx,
        fee,
        size,
        now,
        parents,
        ancestors,
        replaced,
        from_block,
        entered,
        trim=not package,
        delta=delta,
    )


def commit(
    pool: Mempool,
    tx: Transaction,
    fee: int,
    size: int,
    now: int,
    parents: set[bytes],
    ancestors: set[bytes],
    replaced: set[bytes],
    from_block: bool,
    entered: int | None = None,
    *,
    trim: bool = True,
    delta: int = 0,
) -> AcceptResult:
    graph = pool.graph
    floor = pool.rolling_floor
    if not from_block:
        floor.decay(now, graph.total_size, pool.policy.max_bytes)
    removed = graph.remove(replaced) if replaced else []
    pool._sequence += 1
    time = now if entered is None else entered
    entry = MempoolEntry(tx, tx.txid, fee, size, time, pool.chain.tip_height, pool._sequence)
    entry.delta = delta  # prioritisetransaction's, looked up once by accept_one
    graph.add(entry, parents, ancestors, link_children=from_block)
    evicted: list[MempoolEntry] = []
    if trim and not from_block and graph.total_size > pool.policy.max_bytes:
        saved = floor.state()
        evicted = pool._trim()
        if tx.txid not in graph.entries:
            for back in sorted(removed + evicted, key=lambda e: (e.ancestor_count, e.sequence)):
                if back is not entry:
                    graph.add(back, link_children=True)
            floor.restore(saved)
            raise MempoolFull(f"{tx.txid_hex} would be the first evicted from a full mempool")
    pool._version += 1
    pool._recent.append(tx.txid)
    for gone in (*removed, *evicted):
        pool.estimator.untrack(gone.txid)
    if not from_block and not entry.parents:
        pool.estimator.track(entry.txid, entry.height, fee, size)
    return AcceptResult(
        tx.txid,
        fee,
        size,
        replaced=tuple(e.txid for e in removed),
        evicted=tuple(e.txid for e in evicted),
    )


def is_confirmed(pool: Mempool, tx: Transaction) -> bool:
    coins = pool.chain.coins
    txid = tx.txid
    return any(coins.get_coin(OutPoint(txid, i)) is not None for i in range(len(tx.outputs)))
