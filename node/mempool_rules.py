"""Package rules of the mempool: ancestor/descendant limits and Bitcoin Core's full-RBF
replacement rules (doc/policy/mempool-replacements.md; full RBF, so no signalling is needed).

May import consensus, node.txgraph, node.mempool_policy, node.mempool_errors and stdlib. Pure
checks over the graph: they raise a ``MempoolError`` subclass or return; nothing changes.

Replacement rules, numbered as in Core's document (rule 1, BIP 125 signalling, does not apply):
  2. no new unconfirmed inputs: every input whose transaction is in the mempool spends a parent
     of one of the directly conflicting transactions;
  3. the replacement's absolute fee is at least the sum of the fees of everything it replaces
     (the direct conflicts and all their descendants);
  4. the fee above that sum pays the incremental relay fee-rate for the replacement's size;
  5. at most ``max_replacements`` (100) transactions are replaced;
  6. the replacement's fee-rate is higher than each directly conflicting transaction's.
And, as Core checks first, the replacement does not spend an output of a transaction it replaces.
"""

from __future__ import annotations

from consensus.transaction import Transaction
from node.mempool_errors import (
    AncestorSizeExceeded,
    DescendantSizeExceeded,
    MempoolConflict,
    RbfAddsUnconfirmed,
    RbfFeeRateTooLow,
    RbfInsufficientFee,
    RbfInsufficientRelayFee,
    RbfSpendsConflictingTx,
    RbfTooManyReplacements,
    TooManyAncestors,
    TooManyDescendants,
)
from node.mempool_policy import MempoolPolicy
from node.txgraph import TxGraph


def check_chain_limits(
    graph: TxGraph,
    size: int,
    ancestors: set[bytes],
    replaced: set[bytes],
    policy: MempoolPolicy,
) -> None:
    """A new transaction of ``size`` bytes with in-mempool ``ancestors`` keeps every package
    within the ancestor and descendant limits, counting the mempool as it will be once
    ``replaced`` has left."""
    if len(ancestors) + 1 > policy.max_ancestor_count:
        raise TooManyAncestors(
            f"{len(ancestors) + 1} transactions in the unconfirmed chain "
            f"(limit {policy.max_ancestor_count})"
        )
    entries = graph.entries
    ancestor_size = size + sum(entries[a].size for a in ancestors)
    if ancestor_size > policy.max_ancestor_size:
        raise AncestorSizeExceeded(
            f"{ancestor_size} bytes with ancestors (limit {policy.max_ancestor_size})"
        )
    leaving: dict[bytes, tuple[int, int]] = {}
    for txid in replaced:
        for shared in graph.ancestors(txid) & ancestors:
            count, total = leaving.get(shared, (0, 0))
            leaving[shared] = (count + 1, total + entries[txid].size)
    for ancestor_txid in ancestors:
        ancestor = entries[ancestor_txid]
        count_leaving, size_leaving = leaving.get(ancestor_txid, (0, 0))
        if ancestor.descendant_count - count_leaving + 1 > policy.max_descendant_count:
            raise TooManyDescendants(
                f"ancestor {ancestor.tx.txid_hex} would have more than "
                f"{policy.max_descendant_count} in its package"
            )
        if ancestor.descendant_size - size_leaving + size > policy.max_descendant_size:
            raise DescendantSizeExceeded(
                f"ancestor {ancestor.tx.txid_hex}'s package would exceed "
                f"{policy.max_descendant_size} bytes"
            )


def check_conflicts_bound(graph: TxGraph, conflicts: set[bytes], policy: MempoolPolicy) -> None:
    """Before any walk: replacement is enabled, and the direct conflicts with their descendants
    (counted with overlaps, from the cached totals, as Core does) stay within rule 5's limit."""
    if not policy.full_rbf:
        raise MempoolConflict("spends an output that a mempool transaction already spends")
    bound = sum(graph.entries[txid].descendant_count for txid in conflicts)
    if bound > policy.max_replacements:
        raise RbfTooManyReplacements(
            f"would replace up to {bound} transactions (limit {policy.max_replacements})"
        )


def check_disjoint(ancestors: set[bytes], conflicts: set[bytes]) -> None:
    """The replacement must not spend an output of a transaction it replaces."""
    if not ancestors.isdisjoint(conflicts):
        raise RbfSpendsConflictingTx(
            "the replacement spends an output of a transaction it replaces"
        )


def check_replacement(
    graph: TxGraph,
    tx: Transaction,
    fee: int,
    size: int,
    conflicts: set[bytes],
    replaced: set[bytes],
    policy: MempoolPolicy,
) -> None:
    """Rules 6, 5, 2, 3 and 4 (Core's order) for ``tx`` paying ``fee`` over ``size`` bytes that
    directly conflicts with ``conflicts``, which with their descendants make ``replaced``. Fees
    are modified ones on both sides (``prioritisetransaction``'s deltas counted), as in Core."""
    entries = graph.entries
    for txid in conflicts:
        original = entries[txid]
        if fee * original.size <= original.modified_fee * size:
            raise RbfFeeRateTooLow(
                f"fee-rate {fee / size:.3f} is not above"
                f" {original.modified_fee / original.size:.3f} of {original.tx.txid_hex}"
            )
    if len(replaced) > policy.max_replacements:
        raise RbfTooManyReplacements(
            f"would replace {len(replaced)} transactions (limit {policy.max_replacements})"
        )
    parents_of_conflicts = {op.txid for txid in conflicts for op in entries[txid].tx.inputs}
    for outpoint in tx.inputs:
        if outpoint.txid in entries and outpoint.txid not in parents_of_conflicts:
            raise RbfAddsUnconfirmed(f"input {outpoint} is a new unconfirmed input")
    replaced_fees = sum(entries[txid].modified_fee for txid in replaced)
    if fee < replaced_fees:
        raise RbfInsufficientFee(f"fee {fee} is below the {replaced_fees} it replaces")
    required = policy.incremental_relay_fee_rate * size
    if fee - replaced_fees < required:
        raise RbfInsufficientRelayFee(
            f"additional fee {fee - replaced_fees} does not pay the incremental relay fee "
            f"{required}"
        )
