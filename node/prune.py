"""Pruning, as Bitcoin Core's ``-prune``: keep the stored blocks and undo data under a size
target by deleting the oldest, never the newest ``keep_blocks`` (288, Core's
MIN_BLOCKS_TO_KEEP) below the stored tip.

May import structlog, ``node.blockindex`` and the standard library (``node.chain`` for types);
runs on the chain thread, after an activation has flushed
(``node.chain_connect.notify_and_flush``).

- What is pruned is every block, of the active chain and of other branches, at a height up to
  ``pruned_height`` (kept in the database's meta table): its body and its undo data. Headers,
  the UTXO set and the block index stay. Genesis is never pruned.
- Only below the **stored** tip, so the blocks that opening the chain connects again after a
  crash (those after the last flush) are always there.
- The check is cheap: an estimate (the exact size at the last pass plus what was written since)
  against the target; a pass measures exactly and prunes the oldest heights until the blocks
  fit in 90% of the target, so passes are rare.
- A reorg needs the undo data of the blocks it takes off: ``ChainState`` ignores a branch that
  forks below ``pruned_height`` (Core cannot take such a reorg either without downloading
  again), and ``invalidateblock`` refuses a block there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from node.blockindex import ChainEntry, find_fork

if TYPE_CHECKING:
    from node.chain import ChainState

log = structlog.get_logger("seedchain.prune")
MIN_KEEP_BLOCKS = 288
PRUNE_TO = 0.9


@dataclass(frozen=True)
class PruneSettings:
    target_bytes: int
    keep_blocks: int = MIN_KEEP_BLOCKS


@dataclass(frozen=True)
class PruneResult:
    pruned_height: int
    blocks: int  # block bodies deleted (with their undo data)
    freed: int  # bytes
    stored: int  # bytes left


class Pruner:
    def __init__(self, settings: PruneSettings) -> None:
        if settings.target_bytes <= 0 or settings.keep_blocks < 1:
            raise ValueError("a prune target and at least one kept block are needed")
        self.settings = settings
        self._measured: int | None = None  # exact bytes at the last pass
        self._written_then = 0  # ChainStore.written_bytes at the last pass

    def estimate(self, chain: ChainState) -> int:
        store = chain.store
        if self._measured is None:
            self._remember(store.stored_bytes(), store.written_bytes)
        assert self._measured is not None
        return self._measured + store.written_bytes - self._written_then

    def _remember(self, measured: int, written: int) -> None:
        self._measured, self._written_then = measured, written

    def maybe_prune(self, chain: ChainState) -> PruneResult | None:
        """Chain thread: prune the oldest heights if the stored blocks exceed the target and
        there are blocks old enough; what was done, or None."""
        target = self.settings.target_bytes
        if self.estimate(chain) <= target:
            return None
        limit = chain.stored_tip.height - self.settings.keep_blocks
        if limit <= chain.pruned_height:
            return None
        store = chain.store
        stored = store.stored_bytes()
        self._remember(stored, store.written_bytes)
        if stored <= target:
            return None
        goal = int(target * PRUNE_TO)
        result = self._delete(chain, limit, lambda freed: stored - freed <= goal, stored)
        self._remember(result.stored, store.written_bytes)
        return result

    def prune_to(self, chain: ChainState, height: int) -> PruneResult | None:
        """Chain thread: prune every height up to ``height`` now, whatever the size target
        (Core's ``pruneblockchain``), never the newest ``keep_blocks`` below the stored tip;
        what was done, or None when nothing was left to prune there."""
        limit = min(height, chain.stored_tip.height - self.settings.keep_blocks)
        if limit <= chain.pruned_height:
            return None
        store = chain.store
        stored = store.stored_bytes()
        result = self._delete(chain, limit, lambda _freed: False, stored)
        self._remember(result.stored, store.written_bytes)
        return result

    def _delete(
        self, chain: ChainState, limit: int, enough: Callable[[int], bool], stored: int
    ) -> PruneResult:
        """Delete the oldest heights, on every branch, up to ``limit`` or until ``enough(freed
        bytes)``; record the new pruned height in the same transaction."""
        store = chain.store
        others: dict[int, list[bytes]] = {}
        for entry in chain.entries.values():
            if chain.pruned_height < entry.height <= limit and not chain.is_active(entry):
                others.setdefault(entry.height, []).append(entry.hash)
        height, freed = chain.pruned_height, 0
        doomed: list[bytes] = []
        while height < limit and not enough(freed):
            batch_end = min(limit, height + 256)
            heights = range(height + 1, batch_end + 1)
            at = {h: [chain.active[h].hash, *others.get(h, [])] for h in heights}
            sizes = store.data_sizes([h_ for hashes in at.values() for h_ in hashes])
            for h in heights:
                doomed += at[h]
                freed += sum(sizes[block_hash] for block_hash in at[h])
                height = h
                if enough(freed):
                    break
        store.prune(doomed, height)
        chain.pruned_height = height
        chain.forget_recent(doomed)
        result = PruneResult(height, len(doomed), freed, stored - freed)
        log.info("blocks_pruned", pruned_height=height, blocks=len(doomed), freed_bytes=freed,
                 stored_bytes=stored - freed)  # fmt: skip
        return result




def beyond_pruning(chain: ChainState, entry: ChainEntry) -> bool:
    """A branch (to ``entry``) that forks below the pruned height: taking it would need undo
    data that pruning deleted, so it is set aside, with a warning."""
    if not chain.pruned_height:
        return False
    fork = find_fork(chain.tip, entry)
    if fork.height >= chain.pruned_height:
        return False
    log.warning(
        "branch_beyond_pruning",
        tip=entry.hash_hex,
        height=entry.height,
        fork_height=fork.height,
        pruned_height=chain.pruned_height,
        detail="its reorg would need deleted undo data; the chain stays where it is",
    )
    return True
