"""Block template selection by ancestor fee-rate (Bitcoin Core's ``BlockAssembler``).

May import consensus, node.txgraph and the standard library. Repeatedly take the transaction
whose package (itself plus its ancestors not yet chosen) pays the best fee-rate, add the whole
package parents first, and lower the package totals of its descendants, so that a high-fee child
pulls its cheap parents in and a parent already chosen no longer weighs on its children. Fees
are the modified ones (``prioritisetransaction``'s delta counted); the total returned is real.
"""

from __future__ import annotations

import heapq

from consensus.transaction import Transaction
from node.txgraph import TxGraph

# Bitcoin Core's BlockAssembler gives up after this many packages in a row do not fit, once the
# block is nearly full (within FULL_MARGIN bytes of the limit).
MAX_CONSECUTIVE_FAILURES = 1000
FULL_MARGIN = 4000


def select_for_block(
    graph: TxGraph, max_bytes: int, min_fee_rate: float = 0.0
) -> tuple[list[Transaction], int]:
    """Transactions for a block, parents before children, whose sizes sum to at most
    ``max_bytes``, and their total fee. Packages below ``min_fee_rate`` units per byte stay out
    (Core's ``-blockmintxfee``): the heap gives the best first, so the first one below ends it."""
    entries = graph.entries
    # Ancestor totals (count, size, fees) of transactions whose ancestors were chosen already.
    modified: dict[bytes, tuple[int, int, int]] = {}
    stamps: dict[bytes, int] = {}
    stamp = 0
    heap = [(-e.ancestor_fees / e.ancestor_size, e.sequence, 0, e.txid) for e in entries.values()]
    heapq.heapify(heap)
    chosen: set[bytes] = set()
    failed: set[bytes] = set()
    selected: list[Transaction] = []
    block_size = 0
    total_fees = 0
    consecutive_failures = 0
    while heap:
        _, _, item_stamp, txid = heapq.heappop(heap)
        if txid in chosen or txid in failed or stamps.get(txid, 0) != item_stamp:
            continue
        entry = entries[txid]
        _, package_size, package_fees = modified.get(
            txid, (entry.ancestor_count, entry.ancestor_size, entry.ancestor_fees)
        )
        if package_fees < min_fee_rate * package_size:
            break
        if block_size + package_size > max_bytes:
            failed.add(txid)
            consecutive_failures += 1
            if consecutive_failures > MAX_CONSECUTIVE_FAILURES and (
                block_size > max_bytes - FULL_MARGIN
            ):
                break
            continue
        consecutive_failures = 0
        package = [t for t in graph.ancestors(txid) if t not in chosen]
        package.append(txid)
        package.sort(key=lambda t: entries[t].ancestor_count)
        for member_txid in package:
            member = entries[member_txid]
            chosen.add(member_txid)
            selected.append(member.tx)
            block_size += member.size
            total_fees += member.fee
        for member_txid in package:
            member = entries[member_txid]
            for descendant_txid in graph.descendants(member_txid):
                if descendant_txid in chosen:
                    continue
                descendant = entries[descendant_txid]
                count, size, fees = modified.get(
                    descendant_txid,
                    (descendant.ancestor_count, descendant.ancestor_size, descendant.ancestor_fees),
                )
                count, size = count - 1, size - member.size
                fees -= member.fee + member.delta
                modified[descendant_txid] = (count, size, fees)
                stamp += 1
                stamps[descendant_txid] = stamp
                heapq.heappush(heap, (-fees / size, descendant.sequence, stamp, descendant_txid))
    return selected, total_fees
