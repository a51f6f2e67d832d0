"""An operator's verdicts on blocks: Bitcoin Core's ``invalidateblock`` and ``reconsiderblock``.

May import node.blockindex, node.chain_connect, node.chain_types and the standard library
(``node.chain`` only for typing). Chain thread only, like every ``ChainState`` operation.

- ``invalidate_block``: the block and its descendants are marked failed (written first, so the
  verdict survives a crash), the active chain is taken back below the block (each
  disconnection its own transaction, as any reorg), and the most-work valid chain is connected
  instead; the listeners (mempool, indexes, relay, the API) hear of both.
- ``reconsider_block``: the failure marks of the block, its descendants and its ancestors are
  cleared (a block that really breaks a rule is found failing again when connected), and the
  most-work chain is activated.
- ``leave_failed_tip``: on opening, a tip that is marked failed (a crash in the middle of an
  invalidation) is left the same way.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

from node.blockindex import BlockStatus, ChainEntry
from node.chain_connect import disconnect_tip, notify_and_flush
from node.chain_types import ChainUpdate

if TYPE_CHECKING:
    from node.chain import ChainState

MAX_INVALIDATE_DEPTH = 2000  # blocks taken off the active chain in one chain-thread call


class ManualVerdictError(ValueError):
    """A block that cannot be invalidated or reconsidered now; ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def invalidate_block(chain: ChainState, block_hash: bytes) -> ChainUpdate:
    """Mark ``block_hash`` and its descendants failed and move off them; what changed."""
    entry = _entry(chain, block_hash)
    if entry.parent is None:
        raise ManualVerdictError("genesis", "the genesis block cannot be invalidated")
    if chain.is_active(entry) and chain.height - entry.height >= MAX_INVALIDATE_DEPTH:
        raise ManualVerdictError(
            "too_deep",
            f"the block is {chain.height - entry.height + 1} blocks deep; at most"
            f" {MAX_INVALIDATE_DEPTH} are taken off the chain at once (invalidate a later block"
            " first)",
        )
    if chain.is_active(entry) and entry.height <= chain.pruned_height:
        raise ManualVerdictError(
            "pruned",
            f"the block is at height {entry.height}, where this pruned node has no undo data"
            f" left (pruned up to {chain.pruned_height})",
        )
    chain._mark_failed(entry)
    return leave_failed_tip(chain)


def leave_failed_tip(chain: ChainState) -> ChainUpdate:
    """Disconnect while the tip is marked failed, then activate the best valid chain."""
    left = ChainUpdate()
    while chain.tip.failed and chain.tip.parent is not None:
        left.disconnected.append((disconnect_tip(chain), chain.tip.height + 1))
    if left.disconnected:
        _rescan_candidates(chain, chain.entries.values())
        notify_and_flush(chain, left)  # the listeners keep it: a fresh update for the total
    after = chain.activate_best_chain()
    return ChainUpdate(
        disconnected=[*left.disconnected, *after.disconnected],
        connected=list(after.connected),
        failed=list(after.failed),
    )


def reconsider_block(chain: ChainState, block_hash: bytes) -> ChainUpdate:
    """Clear the failure marks of ``block_hash``, its descendants and ancestors; activate."""
    entry = _entry(chain, block_hash)
    changed = [e for e in (entry, *entry.descendants()) if e.status & BlockStatus.ANY_FAILED]
    oldest = entry
    walker = entry.parent
    while walker is not None:
        if walker.status & BlockStatus.ANY_FAILED:
            changed.append(walker)
            oldest = walker
        walker = walker.parent
    if changed:
        with chain.store.write():
            for e in changed:
                e.status &= ~BlockStatus.ANY_FAILED
                chain.store.set_status(e.hash, int(e.status), e.seq)
        _rescan_candidates(chain, _subtree(oldest))
    return chain.activate_best_chain()


def _entry(chain: ChainState, block_hash: bytes) -> ChainEntry:
    if chain._activating:
        raise ManualVerdictError("busy", "the chain is connecting blocks; try again shortly")
    entry = chain.entries.get(block_hash)
    if entry is None:
        raise ManualVerdictError("block_not_found", "no block with this hash")
    return entry


def _subtree(root: ChainEntry) -> list[ChainEntry]:
    """``root`` and its descendants, parents before children."""
    order = []
    queue = deque([root])
    while queue:
        entry = queue.popleft()
        order.append(entry)
        queue.extend(entry.children)
    return order


def _rescan_candidates(chain: ChainState, entries: Iterable[ChainEntry]) -> None:
    """Recompute ``have_chain_data`` (``entries`` parents first) and put every entry that is
    not failed, has a whole chain of data and at least the tip's work back among the
    candidates for the tip."""
    tip_work = chain.tip.chainwork
    for entry in entries:
        parent = entry.parent
        entry.have_chain_data = bool(
            (parent is None or parent.have_chain_data) and entry.status & BlockStatus.HAVE_DATA
        )
        if entry.have_chain_data and not entry.failed and entry.chainwork >= tip_work:
            chain._candidates.add(entry)
