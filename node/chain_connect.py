"""Block connection for ``node.chain.ChainState``: connecting a path of blocks to the tip in
batches (one SQLite transaction and one signature batch per batch), one block at a time to find
an invalid one, and disconnecting the tip. Each step commits the UTXO changes, undo data and new
tip together, so a crash leaves the last complete tip.

Module-level functions that take the ``ChainState`` and work on its store, coin cache, active
chain and candidate set; synchronous, on the chain thread only. May import consensus,
node.blockindex, node.chain_types, node.storage and stdlib (``node.chain`` only for typing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from consensus.block import Block
from consensus.errors import BadSignature, ConsensusError
from consensus.utxo import CoinsOverlay, connect_block, undo_block
from node.blockindex import BlockStatus, ChainEntry
from node.chain_types import CONNECT_BATCH_BLOCKS, CONNECT_BATCH_TXS, ChainUpdate
from node.storage import StorageError

if TYPE_CHECKING:
    from node.chain import ChainState


def connect_path(chain: ChainState, path: list[ChainEntry], update: ChainUpdate) -> None:
    """Connect ``path`` (children of the tip, in order) in batches; stop at the first
    invalid block, recording it in ``update.failed``."""
    index = 0
    while index < len(path):
        batch = next_batch(chain, path, index)
        index += len(batch)
        if len(batch) > 1:
            try:
                blocks = connect_batch(chain, batch)
            except ConsensusError:
                pass  # some block in it is invalid: find which, one at a time, below
            else:
                update.connected.extend((b, e.height) for b, e in zip(blocks, batch, strict=True))
                continue
        for entry in batch:
            try:
                block = connect_one(chain, entry)
            except ConsensusError as exc:
                update.failed.append((entry.hash, exc))
                if exc.permanent:
                    chain._mark_failed(entry)
                else:  # the stored body was bad: forget it so it can be fetched again
                    forget_data(chain, entry)
                return
            update.connected.append((block, entry.height))


def next_batch(chain: ChainState, path: list[ChainEntry], start: int) -> list[ChainEntry]:
    batch: list[ChainEntry] = []
    txs = 0
    for entry in path[start : start + CONNECT_BATCH_BLOCKS]:
        block = chain._recent_blocks.get(entry.hash)
        batch.append(entry)
        txs += len(block.transactions) if block is not None else CONNECT_BATCH_TXS // 8
        if txs >= CONNECT_BATCH_TXS:
            break
    return batch


def connect_batch(chain: ChainState, entries: list[ChainEntry]) -> list[Block]:
    """Connect several blocks in one transaction with one signature batch; all or none."""
    assert entries[0].parent is chain.tip
    overlay = CoinsOverlay(chain.coins)
    jobs: list[tuple[bytes, bytes, bytes]] = []

    def collect(batch: Sequence[tuple[bytes, bytes, bytes]]) -> int:
        jobs.extend(batch)
        return -1

    blocks: list[Block] = []
    undos = []
    for entry in entries:
        block = read_block(chain, entry)
        verifier = None if entry.status & BlockStatus.VALID else collect
        undos.append(connect_block(block, entry.height, overlay, chain.params, verifier))
        blocks.append(block)
    if jobs and chain.verifier(jobs) >= 0:
        raise BadSignature("a signature in the batch does not verify")
    store = chain.store
    with store.write():
        store.apply_coin_changes(overlay.items())
        for entry, undo in zip(entries, undos, strict=True):
            store.put_undo(entry.hash, undo)
            if not entry.status & BlockStatus.VALID:
                store.set_status(entry.hash, int(entry.status | BlockStatus.VALID), entry.seq)
        store.set_meta("tip", entries[-1].hash)
    chain.coins.committed(overlay.items())
    for entry in entries:
        entry.status |= BlockStatus.VALID
        chain.active.append(entry)
    return blocks


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
    verifier = None if entry.status & BlockStatus.VALID else chain.verifier
    undo = connect_block(block, entry.height, overlay, chain.params, verifier)
    entry_status = entry.status | BlockStatus.VALID
    store = chain.store
    with store.write():
        store.apply_coin_changes(overlay.items())
        store.put_undo(entry.hash, undo)
        if entry_status != entry.status:
            store.set_status(entry.hash, int(entry_status), entry.seq)
        store.set_meta("tip", entry.hash)
    chain.coins.committed(overlay.items())
    entry.status = entry_status
    chain.active.append(entry)
    return block


def disconnect_tip(chain: ChainState) -> Block:
    entry = chain.tip
    if entry.parent is None:
        raise StorageError("cannot disconnect the genesis block")
    block = read_block(chain, entry)
    undo = chain.store.get_undo(entry.hash)
    overlay = CoinsOverlay(chain.coins)
    undo_block(block, undo, overlay)
    with chain.store.write():
        chain.store.apply_coin_changes(overlay.items())
        chain.store.set_meta("tip", entry.parent.hash)
    chain.coins.committed(overlay.items())
    chain.active.pop()
    chain._candidates.add(entry)
    return block
