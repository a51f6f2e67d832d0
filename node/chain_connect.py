"""Block connection for ``node.chain.ChainState``: connecting a path of blocks to the tip in
pipelined batches (one signature batch each, checked by worker processes while the next batch
is prepared), one block at a time to find an invalid one, disconnecting the tip, and flushing
the coin cache. A batch commits its undo data and statuses and leaves its coin changes in the
cache; a single block and a disconnection write their coins and the new tip in the same
transaction; a flush writes the cached changes and the tip. So the stored UTXO set is always
that of the stored tip.

Module-level functions that take the ``ChainState`` and work on its store, coin cache, active
chain and candidate set; synchronous, on the chain thread only. May import consensus,
node.blockindex, node.chain_types, node.storage and stdlib (``node.chain`` only for typing).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from consensus.block import Block
from consensus.errors import ConsensusError
from consensus.utxo import BlockUndo, CoinsOverlay, CoinView, Verifier, connect_block, undo_block
from node.blockindex import BlockStatus, ChainEntry
from node.chain_types import (
    CONNECT_BATCH_BLOCKS,
    CONNECT_BATCH_TXS,
    FLUSH_DEFER_BLOCKS,
    FLUSH_SECONDS,
    PIPELINE_DEPTH,
    ChainUpdate,
    estimated_txs,
)
from node.storage import StorageError

if TYPE_CHECKING:
    from node.chain import ChainState


def connect_path_steps(
    chain: ChainState,
    path: list[ChainEntry],
    update: ChainUpdate,
    extend: Callable[[ChainEntry], list[ChainEntry]] | None = None,
) -> Iterator[Pending]:
    """Connect ``path`` (children of the tip, in order) in batches; stop at the first invalid
    block, recording it in ``update.failed``. Yields each time it is about to wait for
    signatures still being checked: the caller may let the chain thread do other work (store
    arriving blocks) until they are ready, then resume it, or resume at once and let
    ``Pending.result()`` wait.

    Batches are pipelined: while the verifier's workers check up to ``PIPELINE_DEPTH`` batches'
    signatures, the chain thread applies the next batch to the coins (on top of the earlier
    ones' uncommitted changes); each batch is committed once its signatures are known good, in
    order. When the path runs out with batches still being checked, ``extend(last entry)`` may
    give the blocks that have arrived since, which go on the path, so the workers are not left
    idle between one path and the next."""
    index = 0
    pipeline: deque[PreparedBatch] = deque()
    lone: list[ChainEntry] | None = None  # connected block by block once the pipeline drains
    while True:
        while lone is None and len(pipeline) < PIPELINE_DEPTH:
            if index >= len(path) and pipeline and extend is not None:
                path.extend(extend(path[-1]))
            if index >= len(path):
                break
            batch = next_batch(chain, path, index)
            index += len(batch)
            if len(batch) == 1:
                lone = batch  # a single block: verified on its own (at the tip, the usual case)
                break
            base: CoinView = pipeline[-1].overlay if pipeline else chain.coins
            try:
                pipeline.append(prepare_batch(chain, batch, base))
            except ConsensusError:
                lone = batch  # some block in it is invalid: find it block by block
        if not pipeline:
            if lone is None:
                return
            if not connect_singly(chain, lone, update):
                return
            lone = None
            continue
        oldest = pipeline[0]
        if oldest.pending.waits():
            yield oldest.pending
        if oldest.pending.result() >= 0:
            # A bad signature in the oldest batch: what was prepared on top of it is moot and
            # is taken again from the path once the bad block is found.
            pipeline.popleft()
            for later in pipeline:
                later.pending.cancel()
                index -= len(later.entries)
            pipeline.clear()
            if lone is not None:
                index -= len(lone)
                lone = None
            if not connect_singly(chain, oldest.entries, update):
                return
            continue
        pipeline.popleft()
        commit_batch(chain, oldest)
        update.connected.extend(
            (b, e.height) for b, e in zip(oldest.blocks, oldest.entries, strict=True)
        )


def connect_singly(chain: ChainState, batch: list[ChainEntry], update: ChainUpdate) -> bool:
    """Connect one block at a time (to find the invalid one); False after an invalid block."""
    for entry in batch:
        try:
            block = connect_one(chain, entry)
        except ConsensusError as exc:
            update.failed.append((entry.hash, exc))
            if exc.permanent:
                chain._mark_failed(entry)
            else:  # the stored body was bad: forget it so it can be fetched again
                forget_data(chain, entry)
            return False
        update.connected.append((block, entry.height))
    return True


def next_batch(chain: ChainState, path: list[ChainEntry], start: int) -> list[ChainEntry]:
    batch: list[ChainEntry] = []
    txs = 0
    for entry in path[start : start + CONNECT_BATCH_BLOCKS]:
        batch.append(entry)
        txs += estimated_txs(chain._recent_blocks, entry)
        if txs >= CONNECT_BATCH_TXS:
            break
    return batch


@dataclass
class PreparedBatch:
    """Blocks applied to an overlay of the coins, their signatures handed to the verifier."""

    entries: list[ChainEntry]
    blocks: list[Block]
    undos: list[BlockUndo]
    overlay: CoinsOverlay
    pending: Pending


class Pending(Protocol):
    def result(self) -> int: ...

    def cancel(self) -> None: ...

    def waits(self) -> list[Future[int]]: ...


class _Deferred:
    """A verifier without ``submit``: it runs when the result is asked for."""

    def __init__(self, verifier: Verifier, jobs: list[tuple[bytes, bytes, bytes]]) -> None:
        self.verifier = verifier
        self.jobs = jobs

    def result(self) -> int:
        return self.verifier(self.jobs) if self.jobs else -1

    def cancel(self) -> None:
        self.jobs = []

    def waits(self) -> list[Future[int]]:
        return []


def _skips_signatures(chain: ChainState, entry: ChainEntry) -> bool:
    """A block connected before (a reorg back, a restart) or one ``--assume-valid`` vouches for
    (``node.assumevalid``): every rule is checked but its signatures."""
    if entry.status & BlockStatus.VALID:
        return True
    assumed = chain.assume_valid
    return assumed is not None and assumed.covers(chain.entries, entry)


def submit_jobs(chain: ChainState, jobs: list[tuple[bytes, bytes, bytes]]) -> Pending:
    submit = getattr(chain.verifier, "submit", None)
    if submit is not None and jobs:
        pending: Pending = submit(jobs)
        return pending
    return _Deferred(chain.verifier, jobs)


def prepare_batch(chain: ChainState, entries: list[ChainEntry], base: CoinView) -> PreparedBatch:
    """Apply several blocks to an overlay over ``base`` and submit their signatures; raises
    the rule's error when a block breaks a rule other than a signature's."""
    overlay = CoinsOverlay(base)
    jobs: list[tuple[bytes, bytes, bytes]] = []

    def collect(batch: Sequence[tuple[bytes, bytes, bytes]]) -> int:
        jobs.extend(batch)
        return -1

    blocks: list[Block] = []
    undos = []
    for entry in entries:
        block = read_block(chain, entry)
        verifier = None if _skips_signatures(chain, entry) else collect
        undos.append(connect_block(block, entry.height, overlay, chain.params, verifier))
        blocks.append(block)
    return PreparedBatch(entries, blocks, undos, overlay, submit_jobs(chain, jobs))


def commit_batch(chain: ChainState, prepared: PreparedBatch) -> None:
    """Write a batch whose signatures verified: its undo data and statuses now; its coin
    changes go to the cache, written with the stored tip by a later flush."""
    entries = prepared.entries
    assert entries[0].parent is chain.tip
    store = chain.store
    with store.write():
        for entry, undo in zip(entries, prepared.undos, strict=True):
            store.put_undo(entry.hash, undo)
            if not entry.status & BlockStatus.VALID:
                store.set_status(entry.hash, int(entry.status | BlockStatus.VALID), entry.seq)
    chain.coins.apply(prepared.overlay.items())
    for entry in entries:
        entry.status |= BlockStatus.VALID
        chain.active.append(entry)


def forget_data(chain: ChainState, entry: ChainEntry) -> None:
    entry.status &= ~BlockStatus.HAVE_DATA
    for e in [entry, *entry.descendants()]:
        e.have_chain_data = False
        chain._candidates.discard(e)
    with chain.store.write():
        chain.store.delete_block(entry.hash)
        chain.store.set_status(entry.hash, int(entry.status), entry.seq)


def read_block(chain: ChainState, entry: ChainEntry) -> Block:
    block = chain.get_block(entry.hash)
    if block is None:
        raise StorageError(f"block {entry.hash_hex} has no stored data")
    return block


def connect_one(chain: ChainState, entry: ChainEntry) -> Block:
    assert entry.parent is chain.tip
    block = read_block(chain, entry)
    overlay = CoinsOverlay(chain.coins)
    verifier = None if _skips_signatures(chain, entry) else chain.verifier
    undo = connect_block(block, entry.height, overlay, chain.params, verifier)
    entry_status = entry.status | BlockStatus.VALID
    store = chain.store
    with store.write():  # written through, with whatever earlier batches left unwritten
        store.apply_coin_changes(chain.coins.unwritten())
        store.apply_coin_changes(overlay.items())
        store.put_undo(entry.hash, undo)
        if entry_status != entry.status:
            store.set_status(entry.hash, int(entry_status), entry.seq)
        store.set_meta("tip", entry.hash)
    chain.coins.flushed()
    chain.coins.committed(overlay.items())
    chain.stored_tip = entry
    entry.status = entry_status
    chain.active.append(entry)
    return block


def disconnect_tip(chain: ChainState) -> Block:
    entry = chain.tip
    if entry.parent is None:
        raise StorageError("cannot disconnect the genesis block")
    chain.flush()  # a reorg writes through: nothing may be left unwritten under it
    block = read_block(chain, entry)
    undo = chain.store.get_undo(entry.hash)
    overlay = CoinsOverlay(chain.coins)
    undo_block(block, undo, overlay)
    with chain.store.write():
        chain.store.apply_coin_changes(overlay.items())
        chain.store.set_meta("tip", entry.parent.hash)
    chain.coins.committed(overlay.items())
    chain.stored_tip = entry.parent
    chain.active.pop()
    chain._candidates.add(entry)
    return block


def flush_coins(chain: ChainState) -> None:
    """Write the coin changes not yet written and move the stored tip to the active tip, in
    one transaction (see ``node.coins``)."""
    if not chain.coins.dirty and chain.stored_tip is chain.tip:
        return
    with chain.store.write():
        chain.store.apply_coin_changes(chain.coins.unwritten())
        chain.store.set_meta("tip", chain.tip.hash)
    chain.coins.flushed()
    chain.stored_tip = chain.tip
    chain.last_flush = time.monotonic()


def notify_and_flush(chain: ChainState, update: ChainUpdate) -> None:
    """The end of an activation: the listeners hear of it first, so the node announces the new
    tip before the coins are written (the database already holds the blocks and their undo
    data, see node.coins); then the flush, if one is due."""
    try:
        for listener in list(chain.listeners):
            listener(update)
    finally:
        maybe_flush(chain, update)
        if chain.pruner is not None:
            chain.pruner.maybe_prune(chain)


def maybe_flush(chain: ChainState, update: ChainUpdate) -> None:
    """Flush when the unwritten changes fill their share of the cache, when they are old,
    or when this activation was a small step (a node at its tip writes every block)."""
    if (
        chain.coins.dirty >= chain.coins.max_dirty
        or (not update.more and len(update.connected) < FLUSH_DEFER_BLOCKS)
        or time.monotonic() - chain.last_flush >= FLUSH_SECONDS
    ):
        flush_coins(chain)
