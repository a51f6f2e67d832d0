"""Keeping the mempool in step with the chain: removing what a block confirms or conflicts with,
and finding what a reorg made invalid (Bitcoin Core's ``removeForBlock`` / ``removeForReorg``).

May import consensus, node.txgraph, node.fees and the standard library. The ``Mempool`` drives
these helpers; the chain view they read already shows the new tip.
"""

from __future__ import annotations

from consensus.block import Block
from consensus.errors import NonFinalTransaction
from consensus.params import ChainParams
from consensus.tx_rules import check_transaction_final
from node.fees import FeeEstimator
from node.mempool_types import ChainView
from node.txgraph import TxGraph


def remove_for_block(
    graph: TxGraph, estimator: FeeEstimator, block: Block, height: int
) -> list[bytes]:
    """Remove the block's transactions (their children stay, now spending confirmed coins) and
    every mempool transaction that spends an input the block spends, with its descendants.
    The confirmations feed the estimator. Returns the txids of the conflicts removed."""
    entries = graph.entries
    confirmed = {tx.txid for tx in block.transactions[1:] if tx.txid in entries}
    estimator.process_block(height, confirmed)
    if confirmed:
        graph.remove(confirmed)
    spenders = graph.spenders
    conflicts = {
        spenders[outpoint]
        for tx in block.transactions[1:]
        for outpoint in tx.inputs
        if outpoint in spenders
    }
    if not conflicts:
        return []
    removed = graph.remove(graph.with_descendants(conflicts))
    for entry in removed:
        estimator.untrack(entry.txid)
    return [e.txid for e in removed]


def invalid_after_reorg(graph: TxGraph, chain: ChainView, params: ChainParams) -> list[bytes]:
    """Entries the new tip no longer allows: non-final at the next height, or spending an output
    that is neither in the UTXO set nor in the mempool, or an immature coinbase output. (Coins
    that still exist are the same outputs as before, so amounts, keys and signatures stand.)"""
    entries = graph.entries
    coins = chain.coins
    spend_height = chain.tip_height + 1
    median_time_past = chain.tip_median_time_past
    invalid: list[bytes] = []
    for txid, entry in entries.items():
        tx = entry.tx
        try:
            check_transaction_final(tx, spend_height, median_time_past)
        except NonFinalTransaction:
            invalid.append(txid)
            continue
        for outpoint in tx.inputs:
            parent = entries.get(outpoint.txid)
            if parent is not None:
                if outpoint.vout < len(parent.tx.outputs):
                    continue
                invalid.append(txid)
                break
            coin = coins.get_coin(outpoint)
            if coin is None or (
                coin.coinbase and spend_height - coin.height < params.coinbase_maturity
            ):
                invalid.append(txid)
                break
    return invalid
