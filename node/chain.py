"""Chain state: the block tree, the active chain with most work, and the UTXO set at its tip.

May import consensus, node.storage, node.coins, node.blockindex, node.orphans, node.chain_types,
node.chain_manual (an operator's verdicts on blocks), node.prune, node.chain_connect,
node.chain_headers, node.assumevalid, node.stopheight and stdlib.
The result types live in ``node.chain_types`` and block connection in ``node.chain_connect``;
this module re-exports the public names. Synchronous and
single-threaded by design: the node runs it on one worker thread. The database always holds a
consistent state: the UTXO set of its stored tip (written together with that tip, in one SQLite
transaction), and the blocks and undo data of every block connected since. A node at its tip
writes each block's coins with it; while catching up, the coin changes of many blocks wait in
the cache for one flush (as Bitcoin Core's dbcache). After a crash at any instant, opening the
database connects the blocks after the stored tip again, and resumes an interrupted reorg
(reorgs write through: each disconnection is one transaction).

Validation order for a block: header (proof of work, parent, difficulty, time) -> body sanity
(merkle root first) -> contextual (coinbase height, finality) -> stored -> connected when its
branch has the most work (inputs, amounts, signatures). A permanent rule failure marks the block
and its descendants failed for good; a body that does not match its header (bad merkle root,
CVE-2012-2459 mutation) is refused without marking the header.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable, Sequence
from pathlib import Path

from consensus.block import Block, BlockHeader
from consensus.block_rules import (
    check_block_contextual,
    check_block_sanity,
)
from consensus.errors import ConsensusError, KnownInvalidBlock
from consensus.params import ChainParams
from consensus.signing import verify_batch
from consensus.utxo import Verifier
from node import chain_headers
from node.assumevalid import AssumeValid
from node.blockindex import BlockStatus, ChainEntry, better, block_locator, find_fork
from node.chain_connect import (
    Pending,
    connect_path_steps,
    disconnect_tip,
    flush_coins,
    notify_and_flush,
)
from node.chain_manual import leave_failed_tip
from node.chain_types import (
    CONNECT_BATCH_BLOCKS,
    CONNECT_BATCH_TXS,
    RECENT_BLOCKS_BYTES,
    AcceptResult,
    ActivationBudget,
    ChainListener,
    ChainUpdate,
    RecentBlocks,
    UnknownParent,
)
from node.coins import CoinCache, utxo_set_hash
from node.orphans import OrphanBlocks
from node.prune import Pruner, beyond_pruning
from node.stopheight import capped_at
from node.storage import ChainStore, StorageError

__all__ = [
    "CONNECT_BATCH_BLOCKS",
    "CONNECT_BATCH_TXS",
    "RECENT_BLOCKS_BYTES",
    "AcceptResult",
    "ChainListener",
    "ChainState",
    "ChainUpdate",
    "UnknownParent",
]


class ChainState:
    def __init__(
        self,
        store: ChainStore,
        params: ChainParams,
        *,
        cache_bytes: int = 128 * 1024 * 1024,
        verifier: Verifier = verify_batch,
        max_orphans: int = 64,
        assume_valid: AssumeValid | None = None,
        stop_at_height: int | None = None,
    ) -> None:
        params.check_genesis()
        self.store = store
        self.params = params
        self.verifier = verifier
        self.coins = CoinCache(store, cache_bytes)
        self.entries: dict[bytes, ChainEntry] = {}
        self.active: list[ChainEntry] = []
        self.orphans = OrphanBlocks(max_orphans)
        self.listeners: list[ChainListener] = []
        self._candidates: set[ChainEntry] = set()
        self._recent_blocks = RecentBlocks()
        self._next_seq = 1
        self.last_flush = time.monotonic()
        self._activating = False  # an ``activation`` is under way (perhaps suspended)
        self.stored_tip: ChainEntry  # the block whose UTXO set the database holds
        self.pruned_height = store.pruned_height()  # blocks at or below it: no data (node.prune)
        self.pruner: Pruner | None = None  # set by the node when --prune is on
        self.assume_valid = assume_valid  # --assume-valid (node.assumevalid)
        self.stop_at_height = stop_at_height  # never connect past it (node.stopheight)
        self._load()

    @classmethod
    def open(cls, datadir: Path, params: ChainParams, **kwargs: object) -> ChainState:
        return cls(ChainStore(datadir / "chain.sqlite"), params, **kwargs)  # type: ignore[arg-type]

    def close(self) -> None:
        self.flush()
        self.store.close()

    def flush(self) -> None:
        """Write the coin changes not yet written; the stored tip becomes the active tip."""
        flush_coins(self)

    # --- loading ------------------------------------------------------------------------------
    def _load(self) -> None:
        network = self.store.get_meta("network")
        if network is None:
            self._init_genesis()
        elif network != self.params.chain_id:
            raise StorageError(f"database is for {network.decode()!r}, not {self.params.name!r}")
        for block_hash, _height, raw, status, seq in self.store.iter_headers():
            header = BlockHeader.decode(raw)
            parent = self.entries.get(header.prev_hash)
            if parent is None and block_hash != self.params.genesis_hash:
                raise StorageError(f"stored header {block_hash[::-1].hex()} has no parent")
            entry = ChainEntry(header, parent, status, seq)
            self.entries[block_hash] = entry
            self._next_seq = max(self._next_seq, seq + 1)
            self._update_chain_data(entry)
        tip_hash = self.store.get_meta("tip")
        if tip_hash is None or tip_hash not in self.entries:
            raise StorageError("database has no valid tip")
        tip = self.entries[tip_hash]
        self.active = tip.path_from(0)
        self.stored_tip = tip
        # Resumes a reorg that a crash interrupted, and connects again the blocks that were
        # connected after the last flush of the coins (their signatures are not checked again);
        # a tip marked failed is an invalidation that a crash interrupted: it goes on.
        if tip.failed:
            leave_failed_tip(self)
        else:
            self.activate_best_chain()

    def _init_genesis(self) -> None:
        genesis = self.params.genesis
        status = BlockStatus.HAVE_DATA | BlockStatus.VALID
        with self.store.write():
            self.store.set_meta("network", self.params.chain_id)
            self.store.put_header(genesis.hash, 0, genesis.header.encoded, int(status), 0)
            self.store.put_block(genesis.hash, genesis.encoded)
            self.store.put_undo(genesis.hash, [])
            self.store.set_meta("tip", genesis.hash)

    # --- queries ------------------------------------------------------------------------------
    @property
    def tip(self) -> ChainEntry:
        return self.active[-1]

    @property
    def height(self) -> int:
        return len(self.active) - 1

    @property
    def tip_height(self) -> int:
        return self.height

    @property
    def tip_median_time_past(self) -> int:
        return self.tip.median_time_past

    def entry_at(self, height: int) -> ChainEntry | None:
        return self.active[height] if 0 <= height < len(self.active) else None

    def is_active(self, entry: ChainEntry) -> bool:
        return entry.height < len(self.active) and self.active[entry.height] is entry

    def get_block(self, block_hash: bytes) -> Block | None:
        block = self._recent_blocks.get(block_hash)
        if block is not None:
            return block
        data = self.store.get_block(block_hash)
        return None if data is None else Block.decode(data, self.params.max_block_size)

    def locator(self, entry: ChainEntry | None = None) -> list[bytes]:
        """A block locator of ``entry`` (the tip by default): see ``block_locator``."""
        return block_locator(entry or self.tip)

    def find_locator_fork(self, locator: Sequence[bytes]) -> ChainEntry:
        """The first locator hash on our active chain (genesis when none is)."""
        for block_hash in locator:
            entry = self.entries.get(block_hash)
            if entry is not None and self.is_active(entry):
                return entry
        return self.active[0]

    def utxo_hash(self) -> bytes:
        self.flush()
        return utxo_set_hash(self.store.iter_coins())

    # --- headers ------------------------------------------------------------------------------
    def accept_header(self, header: BlockHeader, now: int) -> ChainEntry:
        """Validate and store one header (see :meth:`accept_headers`)."""
        return self.accept_headers([header], now)[-1]

    def accept_headers(self, headers: Iterable[BlockHeader], now: int) -> list[ChainEntry]:
        """Validate headers in order and store the new ones in one transaction. Raises the
        rule's error at the first bad one (the good ones before it are kept)."""
        return chain_headers.accept_headers(self, headers, now)

    # --- blocks -------------------------------------------------------------------------------
    def accept_block(self, block: Block, now: int, activate: bool = True) -> AcceptResult:
        """Validate, store and (if its branch has the most work) connect ``block``; then any
        held orphans that build on it. Raises the rule's error for an invalid block, after the
        chain has settled on the best valid tip.

        With ``activate=False`` the block is only checked and stored (status ``stored``); a
        later :meth:`activate_best_chain` connects everything stored so far in batches, which
        is how a syncing node keeps up (connection errors then come in ``ChainUpdate.failed``).
        """
        if block.header.prev_hash not in self.entries:
            known = self.entries.get(block.hash)
            if known is None:
                self.orphans.add(block)
                return AcceptResult("orphan")
        result = self._accept_one(block, now, activate)
        pending = [block.hash]
        while pending:
            for orphan in self.orphans.pop_children(pending.pop()):
                try:
                    self._accept_one(orphan, now, activate)
                except (ConsensusError, UnknownParent):
                    continue
                result.also_accepted.append(orphan)
                pending.append(orphan.hash)
        return result

    def store_blocks(
        self, blocks: Sequence[Block], now: int
    ) -> list[AcceptResult | ConsensusError]:
        """``accept_block(block, now, activate=False)`` for each block, in one SQLite
        transaction: how a syncing node stores what arrived while the chain thread was busy.
        Each result is the acceptance or the error that refused that block (a block whose
        parent is unknown is held as an orphan, not refused)."""
        results: list[AcceptResult | ConsensusError] = []
        with self.store.batch():
            for block in blocks:
                try:
                    results.append(self.accept_block(block, now, activate=False))
                except ConsensusError as exc:
                    results.append(exc)
        return results

    def _accept_one(self, block: Block, now: int, activate: bool) -> AcceptResult:
        entry = self.accept_header(block.header, now)
        if entry.status & BlockStatus.HAVE_DATA:
            return AcceptResult("duplicate", entry)
        check_block_sanity(block, self.params)  # non-permanent failures first (merkle root)
        assert entry.parent is not None
        try:
            check_block_contextual(block, entry.parent, self.params)
        except ConsensusError as exc:
            if exc.permanent:
                self._mark_failed(entry)
            raise
        entry.status |= BlockStatus.HAVE_DATA
        entry.seq = self._next_seq
        self._next_seq += 1
        with self.store.write():
            self.store.put_block(entry.hash, block.encoded)
            self.store.set_status(entry.hash, int(entry.status), entry.seq)
        self._recent_blocks.remember(block)
        self._update_chain_data(entry)
        if not activate:
            return AcceptResult("stored", entry)
        update = self.activate_best_chain()
        if entry.failed:
            # The rule the block itself broke while connecting, as Core's submitblock says it.
            own = next((exc for h, exc in update.failed if h == entry.hash), None)
            if own is not None:
                raise own
            raise KnownInvalidBlock(f"block {entry.hash_hex} or an ancestor failed validation")
        return AcceptResult("connected" if self.is_active(entry) else "stored", entry)

    def forget_recent(self, hashes: Iterable[bytes]) -> None:
        """Drop the decoded copies of blocks whose data is gone (``node.prune``)."""
        self._recent_blocks.forget(hashes)

    def _update_chain_data(self, entry: ChainEntry) -> None:
        """Mark ``entry`` and its descendants with data as having a complete chain of data."""
        parent_ok = entry.parent is None or entry.parent.have_chain_data
        if not (parent_ok and entry.status & BlockStatus.HAVE_DATA) or entry.failed:
            return
        stack = [entry]
        while stack:
            current = stack.pop()
            current.have_chain_data = True
            self._candidates.add(current)
            stack.extend(
                c
                for c in current.children
                if c.status & BlockStatus.HAVE_DATA and not c.failed and not c.have_chain_data
            )

    def _mark_failed(self, entry: ChainEntry) -> None:
        entry.status |= BlockStatus.FAILED
        changed = [entry]
        for child in entry.descendants():
            child.status |= BlockStatus.FAILED_CHILD
            changed.append(child)
        for e in changed:
            self._candidates.discard(e)
        with self.store.write():
            for e in changed:
                self.store.set_status(e.hash, int(e.status), e.seq)

    # --- choosing and moving the tip ----------------------------------------------------------
    def _best_candidate(self) -> ChainEntry:
        tip = self.tip
        best = tip
        stale = []
        for entry in self._candidates:
            if entry.chainwork < tip.chainwork or entry.failed or beyond_pruning(self, entry):
                stale.append(entry)
            elif entry is not best and better(entry, best) and entry.chainwork > tip.chainwork:
                best = entry
        for entry in stale:
            if entry is not tip:
                self._candidates.discard(entry)
        return capped_at(best, tip, self.stop_at_height)  # --stop-at-height (node.stopheight)

    def activate_best_chain(self, max_blocks: int | None = None) -> ChainUpdate:
        """Move the tip to the most-work valid chain we have data for; notify listeners.

        ``max_blocks`` bounds the blocks connected in this call (``update.more`` then says
        whether work remains), so a caller can let other threads run between calls. While an
        ``activation`` is suspended this does nothing (that activation will see new blocks)."""
        if self._activating:
            return ChainUpdate()
        steps = self.activation(max_blocks)
        while True:
            try:
                next(steps)  # a signature batch outstanding: Pending.result() will wait for it
            except StopIteration as stop:
                update: ChainUpdate = stop.value
                return update

    def activation(
        self, max_blocks: int | None = None, max_txs: int | None = None
    ) -> Generator[Pending, None, ChainUpdate]:
        """``activate_best_chain`` as steps: it yields whenever it would wait for signatures
        that worker processes are still checking, and returns the update. Advance it on the
        chain thread only; between steps the chain thread may store blocks (nothing else may
        move the tip: ``activate_best_chain`` does nothing meanwhile). Blocks stored meanwhile
        that extend the path being connected join it. ``max_blocks`` and ``max_txs`` bound the
        blocks taken on (``update.more`` then says whether work remains)."""
        update = ChainUpdate()
        self._activating = True
        budget = ActivationBudget(self._recent_blocks, max_blocks, max_txs)

        def extend(last: ChainEntry) -> list[ChainEntry]:
            return budget.extend(self._best_candidate(), last)

        try:
            while True:
                best = self._best_candidate()
                if best is self.tip:
                    break
                if budget.spent():
                    update.more = True
                    break
                fork = find_fork(self.tip, best)
                while self.tip is not fork:
                    update.disconnected.append((disconnect_tip(self), self.tip.height + 1))
                path = budget.take(best, fork.height + 1, at_least_one=True)
                yield from connect_path_steps(self, path, update, extend)
        finally:
            self._activating = False
        if update:
            notify_and_flush(self, update)
        return update
