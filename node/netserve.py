"""Answering peers' requests for what this node has: ``getheaders`` (headers after a block
locator), ``getdata`` (stored blocks sent as stored, mempool transactions, ``notfound`` for the
rest) and ``mempool`` (an ``inv`` of every mempool txid). ``node.netsync.NetSync`` dispatches
these messages here. Past the upload target (``node.uploadtarget``), a peer asking for a block
older than a week, or for the mempool, is disconnected unless whitelisted.

May import consensus, p2p and node modules (``node.server`` only for typing). Chain state is only
touched on the chain thread (``node.call``), as in ``node.netsync``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from consensus.block import HEADER_SIZE, BlockHeader, wire_block
from node.uploadtarget import is_historical
from p2p.errors import DisconnectReason
from p2p.messages import (
    INV_BLOCK,
    INV_TX,
    MAX_HEADERS,
    MAX_INV_ITEMS,
    BlockMessage,
    GetHeaders,
    Headers,
    Inv,
    InvItem,
    NotFound,
    TxMessage,
)
from p2p.peer import Peer

if TYPE_CHECKING:
    from node.server import Node

MAX_GETDATA_BLOCKS = 128
UPLOAD_TARGET_HISTORICAL = DisconnectReason(
    "upload_target", "asked for a block older than a week past the upload target"
)
UPLOAD_TARGET_MEMPOOL = DisconnectReason("upload_target", "asked for the mempool past the target")


class NetServe:
    """Serves one node's headers, blocks and mempool to its peers."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.chain = node.chain

    def _exempt(self, peer: Peer) -> bool:
        """Whitelisted peers (``--whitelist``) are exempt from the upload target."""
        manager = self.node.connmgr
        return manager is not None and peer.address in manager.whitelist

    async def on_mempool(self, peer: Peer) -> None:
        if self.node.upload_target.reached() and not self._exempt(peer):
            peer.close(UPLOAD_TARGET_MEMPOOL)  # Core: no mempool requests past the target
            return
        txids = await self.node.call(self.node.mempool.txids)
        for start in range(0, len(txids), MAX_INV_ITEMS):
            items = [InvItem(INV_TX, t) for t in txids[start : start + MAX_INV_ITEMS]]
            await peer.send(Inv(tuple(items)))

    async def on_getheaders(self, peer: Peer, message: GetHeaders) -> None:
        headers = await self.node.call(self._headers_after, message.locator, message.stop_hash)
        await peer.send(Headers(tuple(headers)))

    def _stored_blocks(self, hashes: Sequence[bytes]) -> tuple[list[bytes | None], int]:
        """Chain thread: the stored blocks' bytes (None: not stored) and the tip's time."""
        store = self.chain.store
        return [store.get_block(h) for h in hashes], self.chain.tip.header.time

    def _headers_after(self, locator: Sequence[bytes], stop_hash: bytes) -> list[BlockHeader]:
        chain = self.chain
        fork = chain.find_locator_fork(locator)
        headers = []
        for height in range(fork.height + 1, min(chain.height, fork.height + MAX_HEADERS) + 1):
            entry = chain.active[height]
            headers.append(entry.header)
            if entry.hash == stop_hash:
                break
        return headers

    async def on_getdata(self, peer: Peer, items: Sequence[InvItem]) -> None:
        blocks = [i.hash for i in items if i.type == INV_BLOCK][:MAX_GETDATA_BLOCKS]
        missing = [i for i in items if i.type == INV_BLOCK][MAX_GETDATA_BLOCKS:]
        for item in items:
            if item.type == INV_TX:
                entry = self.node.mempool.get(item.hash)
                if entry is None:
                    missing.append(item)
                else:
                    await peer.send(TxMessage(entry.tx))
                    if self.node.netsync is not None:
                        self.node.netsync.txrelay.served(item.hash)
        # The blocks just connected are at hand (``Node.relay_blocks``): no trip to the chain
        # thread, which may still be busy with them (indexes, the coin flush).
        relay = self.node.relay_blocks
        found = {h: relay[h] for h in blocks if h in relay}
        stored = [h for h in blocks if h not in found]
        raws, tip_time = await self.node.call(self._stored_blocks, stored) if stored else ([], 0)
        limited = self.node.upload_target.reached(historical=True) and not self._exempt(peer)
        for block_hash, raw in zip(stored, raws, strict=True):
            if raw is not None:
                header = BlockHeader.decode(raw[:HEADER_SIZE])
                if limited and is_historical(header.time, tip_time):
                    peer.close(UPLOAD_TARGET_HISTORICAL)  # as Core: disconnect, send nothing
                    return
                found[block_hash] = wire_block(header, raw)
        for block_hash in blocks:  # in the order asked for
            block = found.get(block_hash)
            if block is None:
                missing.append(InvItem(INV_BLOCK, block_hash))
            else:
                await peer.send(BlockMessage(block))
        if missing:
            await peer.send(NotFound(tuple(missing)))
