"""The node's side of the P2P network: headers-first sync, parallel block download, block
announcements, and (through ``node.netserve``) answering peers' requests. It is the
``p2p.PeerHandler`` of the node.

May import consensus, p2p and node modules. Chain state is only touched on the chain thread
(``node.call``); what runs on the event loop reads only values that thread publishes.

Sync (Bitcoin Core's headers-first, simplified):
- on connect, and whenever a peer announces something we cannot connect, ask it for headers
  after our block locator; a full batch (2,000) is followed by the next request at once;
- a batch that does not connect to what we know, or whose chain would end with no more work
  than our tip (and is not a full batch), is not stored;
- blocks on the most-work header chain are fetched in a moving window of ``WINDOW`` blocks
  after our tip, at most ``MAX_IN_FLIGHT`` per peer, from every peer whose best header covers
  them; the peer holding the first missing block past the stall timeout (which grows each
  time a peer is dropped for it, and shrinks as blocks arrive) is disconnected when another
  peer can serve that block, and its blocks are asked of others;
- new tips are announced with a ``headers`` message (up to 8 new blocks), else an ``inv`` of the
  tip; peers that already know a block are skipped.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING

import structlog

from consensus.block import Block, BlockHeader
from consensus.errors import BadMerkleRoot, BlockMutated, ConsensusError
from consensus.hashing import ZERO_HASH
from consensus.pow import block_work
from node.blockindex import BlockStatus, ChainEntry, find_fork
from node.chain import AcceptResult, ChainUpdate, UnknownParent
from node.netintake import BlockIntake
from node.netserve import NetServe
from node.netstall import STALL_DECAY, check_stalls
from node.txrelay import TxRelay
from p2p.errors import DisconnectReason, Misbehaving, P2PError
from p2p.messages import (
    INV_BLOCK,
    INV_TX,
    MAX_HEADERS,
    BlockMessage,
    GetData,
    GetHeaders,
    Headers,
    Inv,
    InvItem,
    Mempool,
    Message,
    NotFound,
    TxMessage,
)
from p2p.peer import Peer

if TYPE_CHECKING:
    from node.server import Node

log = structlog.get_logger("seedchain.sync")

WINDOW = 1024
MAX_IN_FLIGHT = 64
MAX_UNSOLICITED_BLOCKS = 8
MAX_UNCONNECTING_HEADERS = 10
MAX_ANNOUNCED_HEADERS = 8
MAX_TRACKED_SOURCES = 4096
WARM_VERIFIER_BEHIND = 256  # this far behind, the signature workers are started at once


@dataclass(eq=False)
class PeerSync:
    peer: Peer
    best: ChainEntry | None = None  # the most-work header we know this peer has
    in_flight: dict[bytes, float] = field(default_factory=dict)  # block hash -> when asked
    unsolicited: int = 0
    unconnecting: int = 0
    missing: set[bytes] = field(default_factory=set)  # blocks it answered notfound for


class NetSync:
    def __init__(
        self, node: Node, *, stall_timeout: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.node = node
        self.chain = node.chain
        self.params = node.params
        self.stall_timeout = stall_timeout
        self.clock = clock
        self.peers: dict[Peer, PeerSync] = {}
        self.in_flight: dict[bytes, PeerSync] = {}
        self.best_chain: list[ChainEntry] = list(self.chain.active)  # best header chain
        self.txrelay = TxRelay(node)
        self.serve = NetServe(node)
        self.intake = BlockIntake(self)
        self._sources: OrderedDict[bytes, Peer] = OrderedDict()  # who sent a stored block
        self.blocks_received = 0
        self.last_tip_change = clock()
        self.stall_factor = 1.0  # grows when peers are dropped for stalling, shrinks per block

    @property
    def best_header(self) -> ChainEntry:
        return self.best_chain[-1]

    def best_peer_height(self) -> int:
        """The highest best-block height any connected peer told us (0 without peers)."""
        heights = [p.remote_version.best_height for p in self.peers if p.remote_version]
        return max(heights, default=0)

    # --- PeerHandler --------------------------------------------------------------------------
    async def on_peer_connected(self, peer: Peer) -> None:
        self.peers[peer] = PeerSync(peer)
        # The locator starts one block below our best header, so a peer on the same best chain
        # answers with at least that header and we learn what it has (as Bitcoin Core does);
        # an empty answer would leave the peer unused for block download.
        await self.request_headers(peer, below_best=True)

    async def on_peer_disconnected(self, peer: Peer, reason: DisconnectReason) -> None:
        state = self.peers.pop(peer, None)
        if state is None:
            return
        for block_hash in state.in_flight:
            self.in_flight.pop(block_hash, None)
        self.txrelay.peer_gone(peer)
        if state.in_flight:
            await self.schedule()

    async def on_message(self, peer: Peer, message: Message) -> None:
        state = self.peers.get(peer)
        if state is None:
            return
        if isinstance(message, TxMessage):
            await self.txrelay.on_tx(peer, message.transaction)
        elif isinstance(message, Inv):
            await self._on_inv(state, message.items)
        elif isinstance(message, GetData):
            await self.serve.on_getdata(peer, message.items)
        elif isinstance(message, BlockMessage):
            await self._on_block(state, message.block)
        elif isinstance(message, Headers):
            await self._on_headers(state, message.headers)
        elif isinstance(message, GetHeaders):
            await self.serve.on_getheaders(peer, message)
        elif isinstance(message, NotFound):
            await self._on_notfound(state, message.items)
        elif isinstance(message, Mempool):
            await self.serve.on_mempool(peer)

    # --- headers ------------------------------------------------------------------------------
    async def request_headers(self, peer: Peer, *, below_best: bool = False) -> None:
        start = self.best_header
        if below_best and start.parent is not None:
            start = start.parent
        locator = await self.node.call(self.chain.locator, start)
        await peer.send(GetHeaders(tuple(locator[:101]), ZERO_HASH))

    async def _on_headers(self, state: PeerSync, headers: Sequence[BlockHeader]) -> None:
        if not headers:
            return
        for prev, header in pairwise(headers):
            if header.prev_hash != prev.hash:
                raise Misbehaving("headers do not form a chain")
        try:
            entries = await self.node.call(self._accept_headers, headers)
        except UnknownParent:
            state.unconnecting += 1
            if state.unconnecting > MAX_UNCONNECTING_HEADERS:
                raise Misbehaving("too many headers that do not connect") from None
            await self.request_headers(state.peer)
            return
        except ConsensusError as exc:
            raise Misbehaving(
                f"invalid header: {exc.code}: {exc}", discourage=exc.permanent
            ) from None
        state.unconnecting = 0
        if entries:
            last = entries[-1]
            if state.best is None or last.chainwork > state.best.chainwork:
                state.best = last
            self._note_best_header(last)
        if len(headers) == MAX_HEADERS:
            await state.peer.send(GetHeaders((headers[-1].hash,), ZERO_HASH))
        await self.schedule()

    def _accept_headers(self, headers: Sequence[BlockHeader]) -> list[ChainEntry]:
        """Chain thread. Refuses (returns []) a short batch that would not beat our tip."""
        chain = self.chain
        parent = chain.entries.get(headers[0].prev_hash)
        if parent is None:
            raise UnknownParent("headers do not connect")
        if len(headers) < MAX_HEADERS and headers[-1].hash not in chain.entries:
            work = parent.chainwork + sum(block_work(h.bits) for h in headers)
            if work <= chain.tip.chainwork:
                return []
        return chain.accept_headers(headers, int(time.time()))

    def _note_best_header(self, entry: ChainEntry) -> None:
        """Make ``entry`` the best header if it has more work; keep ``best_chain`` its path."""
        if entry.chainwork <= self.best_header.chainwork or entry.failed:
            return
        path: list[ChainEntry] = []
        walker: ChainEntry | None = entry
        while walker is not None and not (
            walker.height < len(self.best_chain) and self.best_chain[walker.height] is walker
        ):
            path.append(walker)
            walker = walker.parent
        keep = 0 if walker is None else walker.height + 1
        del self.best_chain[keep:]
        self.best_chain.extend(reversed(path))
        if entry.height - self.chain.height > WARM_VERIFIER_BEHIND:
            self.node.warm_verifier()

    # --- blocks -------------------------------------------------------------------------------
    async def schedule(self) -> None:
        """Ask peers for the next blocks of the best header chain that we lack."""
        tip = self.chain.tip
        best = self.best_header
        if best.failed:
            self._reset_best_chain()
            best = self.best_header
        if best.chainwork <= tip.chainwork:
            return
        if tip.height < len(self.best_chain) and self.best_chain[tip.height] is tip:
            start = tip.height + 1
        else:
            start = find_fork(tip, best).height + 1
        free = sum(max(0, MAX_IN_FLIGHT - len(s.in_flight)) for s in self.peers.values())
        if free == 0:
            return  # every peer is busy: the common case while downloading
        # The first blocks of the window that we lack and nobody was asked for; a few more than
        # the free slots, since a peer may not have all of them.
        wanted: list[ChainEntry] = []
        in_flight, chain, arrived = self.in_flight, self.best_chain, self.intake.arrived
        for height in range(start, min(len(chain), start + WINDOW)):
            e = chain[height]
            if (
                not e.status & BlockStatus.HAVE_DATA
                and e.hash not in in_flight
                and e.hash not in arrived
            ):
                wanted.append(e)
                if len(wanted) >= 2 * free + MAX_IN_FLIGHT:
                    break
        if not wanted:
            return
        now = self.clock()
        requests: dict[PeerSync, list[InvItem]] = {}
        for state in self.peers.values():
            capacity = MAX_IN_FLIGHT - len(state.in_flight)
            if capacity <= 0 or state.best is None or not self._on_best_chain(state.best):
                continue
            if not state.peer.connected:  # closing: asking it would raise PeerDisconnected
                continue
            batch = requests.setdefault(state, [])
            for entry in wanted:
                if capacity == 0 or entry.height > state.best.height:
                    break
                if entry.hash in self.in_flight or entry.hash in state.missing:
                    continue
                self.in_flight[entry.hash] = state
                state.in_flight[entry.hash] = now
                batch.append(InvItem(INV_BLOCK, entry.hash))
                capacity -= 1
        for state, items in requests.items():
            if not items:
                continue
            try:
                await state.peer.send(GetData(tuple(items)))
            except P2PError:
                # That peer closed while we waited (a send may wait for queue room): give its
                # share back. This runs in other peers' handlers too, whose connection must not
                # pay for it; its own on_peer_disconnected reschedules.
                for item in items:
                    if self.in_flight.get(item.hash) is state:
                        del self.in_flight[item.hash]
                    state.in_flight.pop(item.hash, None)

    def ready_blocks(self, enough: int) -> int:
        """How many blocks in a row after our tip we hold, counting up to ``enough``; ``enough``
        when the best header is that close anyway (nothing more is coming to wait for)."""
        tip = self.chain.tip
        best = self.best_header
        if best.height - tip.height <= enough or not self._on_best_chain(tip):
            return enough
        count = 0
        for entry in self.best_chain[tip.height + 1 : tip.height + 1 + enough]:
            if not entry.status & BlockStatus.HAVE_DATA:
                break
            count += 1
        return count

    def _on_best_chain(self, entry: ChainEntry) -> bool:
        return entry.height < len(self.best_chain) and self.best_chain[entry.height] is entry

    def _reset_best_chain(self) -> None:
        """The best header turned out invalid: fall back to the active chain and re-derive."""
        self.best_chain = list(self.chain.active)
        for state in self.peers.values():
            if state.best is not None and not state.best.failed:
                self._note_best_header(state.best)

    async def _on_block(self, state: PeerSync, block: Block) -> None:
        block_hash = block.hash
        if state.in_flight.pop(block_hash, None) is not None:
            self.in_flight.pop(block_hash, None)
        else:
            state.unsolicited += 1
            if state.unsolicited > MAX_UNSOLICITED_BLOCKS:
                raise Misbehaving("unsolicited block flood")
        await self.intake.put(state, block)

    def block_stored(
        self, state: PeerSync, block: Block, result: AcceptResult | ConsensusError
    ) -> None:
        """What storing a block from ``state``'s peer gave (see ``node.netintake``): punish a
        provably bad block; otherwise note what the peer has. The activator connects it."""
        if isinstance(result, ConsensusError):
            if result.permanent or isinstance(result, (BadMerkleRoot, BlockMutated)):
                state.peer.close(Misbehaving(f"invalid block: {result.code}: {result}"))
            else:
                log.info(
                    "block_refused", hash=block.hash_hex, code=result.code, peer=state.peer.address
                )
            return
        self.blocks_received += 1
        if result.status in ("stored", "connected"):  # new to us: eviction protects the peer
            state.peer.stats.last_block_at = time.monotonic()
        self.stall_factor = max(1.0, self.stall_factor * STALL_DECAY)
        self._sources[block.hash] = state.peer
        while len(self._sources) > MAX_TRACKED_SOURCES:
            self._sources.popitem(last=False)
        entry = self.chain.entries.get(block.hash)
        if entry is not None:
            if state.best is None or entry.chainwork > state.best.chainwork:
                state.best = entry
            self._note_best_header(entry)

    def blocks_failed(self, failed: Sequence[tuple[bytes, ConsensusError]]) -> None:
        """Activation found stored blocks invalid: disconnect (and, where the block itself
        broke a rule or its body did not match its header, discourage) whoever sent them."""
        for block_hash, exc in failed:
            peer = self._sources.pop(block_hash, None)
            if peer is None or not peer.connected:
                continue
            log.info("invalid_block_from_peer", peer=peer.address, code=exc.code)
            peer.close(Misbehaving(f"invalid block: {exc.code}: {exc}"))

    async def _on_notfound(self, state: PeerSync, items: Sequence[InvItem]) -> None:
        for item in items:
            if item.type == INV_BLOCK and state.in_flight.pop(item.hash, None) is not None:
                self.in_flight.pop(item.hash, None)
                state.missing.add(item.hash)
            elif item.type == INV_TX:
                self.txrelay.not_found(state.peer, item.hash)
        await self.schedule()

    async def _on_inv(self, state: PeerSync, items: Sequence[InvItem]) -> None:
        txs = [i for i in items if i.type == INV_TX]
        if txs:
            await self.txrelay.on_inv(state.peer, txs)
        if any(i.type == INV_BLOCK and i.hash not in self.chain.entries for i in items):
            await self.request_headers(state.peer)

    async def check_stalls(self) -> None:
        """Drop the peer that holds up the download window (``node.netstall``)."""
        check_stalls(self)

    # --- announcing ---------------------------------------------------------------------------
    async def tip_changed(self, update: ChainUpdate) -> None:
        """Event loop, after each chain update: announce the new blocks, then keep syncing."""
        connected = [block for block, _ in update.connected]
        if connected:
            self.last_tip_change = self.clock()
            self._note_best_header(self.chain.entries[connected[-1].hash])
            self.txrelay.tip_changed()
        if update.disconnected:
            # A reorg: the mempool took back the disconnected blocks' transactions (on the
            # chain thread, before this update reached us). Announce them again, since peers
            # that were on the winning branch may never have seen them.
            mempool = self.node.mempool
            self.txrelay.announce_local(
                [
                    tx.txid
                    for block, _ in update.disconnected
                    for tx in block.transactions[1:]
                    if tx.txid in mempool
                ]
            )
        for peer in list(self.peers):
            if not peer.connected:  # closing: on_peer_disconnected is on its way
                continue
            # Only the suffix after the last block the peer knows: filtering known blocks out
            # of the middle would leave a gap, and a headers message must form a chain.
            known = [i for i, b in enumerate(connected) if b.hash in peer.known_inventory]
            new = [b.header for b in connected[known[-1] + 1 if known else 0 :]]
            if not new:
                continue
            if len(new) <= MAX_ANNOUNCED_HEADERS:
                message: Message = Headers(tuple(new))
            else:
                message = Inv((InvItem(INV_BLOCK, new[-1].hash),))
            if peer.try_send(message):
                peer.known_inventory.update(h.hash for h in new)
        await self.schedule()
