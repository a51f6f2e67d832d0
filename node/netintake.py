"""Blocks from peers, stored in batches: the peer handlers queue what arrives (a bounded
queue: a full one makes the sending peers' readers wait), and one task hands everything queued
to the chain thread at once, to be checked and stored in one SQLite transaction
(``ChainState.store_blocks``). While the chain thread connects a batch of blocks, the blocks
that keep arriving wait here instead of each waiting for its own turn on that thread.

May import consensus, p2p and node modules; owned by ``node.netsync.NetSync``, run by the node's
TaskGroup.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from consensus.block import Block

if TYPE_CHECKING:
    from node.netsync import NetSync, PeerSync

MAX_QUEUED_BLOCKS = 256  # blocks waiting to be stored, all peers together
MAX_STORE_BATCH = 64  # blocks stored per chain-thread call


class BlockIntake:
    def __init__(self, netsync: NetSync) -> None:
        self.netsync = netsync
        self.queue: asyncio.Queue[tuple[PeerSync, Block]] = asyncio.Queue(MAX_QUEUED_BLOCKS)
        self.arrived: set[bytes] = set()  # queued or being stored: not to be asked for again

    async def put(self, state: PeerSync, block: Block) -> None:
        self.arrived.add(block.hash)
        await self.queue.put((state, block))

    async def run(self) -> None:
        """Store what arrives, batch after batch, until cancelled."""
        netsync = self.netsync
        node = netsync.node
        while True:
            batch = [await self.queue.get()]
            while len(batch) < MAX_STORE_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            blocks = [block for _, block in batch]
            try:
                results = await node.call(netsync.chain.store_blocks, blocks, int(time.time()))
            except BaseException:
                for block in blocks:
                    self.arrived.discard(block.hash)
                raise
            for (state, block), result in zip(batch, results, strict=True):
                self.arrived.discard(block.hash)
                netsync.block_stored(state, block, result)
            node.request_activation()
            await netsync.schedule()
