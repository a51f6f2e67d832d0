"""Transaction relay: ``inv`` / ``getdata`` / ``tx`` between the mempool and the peers.

May import consensus, p2p and node modules. Announcements are batched: accepted txids are
queued and flushed to every peer that does not know them every ``flush_interval`` seconds (by
the node's relay task), so a burst of transactions costs one ``inv`` per peer, not one each.
Transactions a peer sends that break a consensus rule get it disconnected and discouraged;
policy refusals and missing inputs (honest races) only go to a bounded "recently rejected" set
that is cleared on every new tip.

Incoming transactions are validated in batches: ``on_tx`` queues the transaction and returns,
so the peer's reader goes on to the next message while the chain thread validates the batch
in flight (one ``node.call`` for up to ``MAX_BATCH`` transactions instead of one each: the
thread round trip cost more than the validation). The queue is bounded: past ``MAX_QUEUED``
the reader waits (backpressure). The batch in flight is a task owned here; it only awaits the
chain thread, and its completion callback settles each transaction (mempool, announcement,
orphan parents asked for, or the sender disconnected for an invalid one). Orphans are held as
announced by their sender; a peer that disconnects has its announcements forgotten at the
start of the next batch (one is started for it when none is in flight). A consequence: a
``pong`` no longer proves that a ``tx`` sent before the ``ping`` is in the mempool; wait for
the mempool instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import structlog

from consensus.errors import (
    ConsensusError,
    ImmatureCoinbaseSpend,
    MissingInputs,
    NonFinalTransaction,
    UnexpectedCoinbase,
)
from consensus.transaction import Transaction
from node.mempool_errors import MempoolError
from node.mempool_types import AcceptResult
from p2p.errors import Misbehaving, PeerDisconnected
from p2p.messages import INV_TX, MAX_INV_ITEMS, GetData, Inv, InvItem
from p2p.peer import Peer

if TYPE_CHECKING:
    from node.server import Node

log = structlog.get_logger("seedchain.txrelay")

MAX_REQUESTED = 50_000
MAX_REJECTED = 50_000
REQUEST_TIMEOUT = 60.0
MAX_BATCH = 500  # transactions validated in one chain-thread call
MAX_QUEUED = 5_000  # waiting behind the batch in flight; beyond this a peer's reader waits
MAX_UNBROADCAST = 10_000  # own transactions no peer has asked for yet (oldest dropped beyond)
REATTEMPT_INTERVAL = 600.0  # seconds between announcing them again (Core: 10-15 min)
# Failures that an honest peer can relay: the state changed under it, or it is ahead of us.
HONEST_FAILURES = (MissingInputs, ImmatureCoinbaseSpend, NonFinalTransaction, UnexpectedCoinbase)


class TxRelay:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.requested: OrderedDict[bytes, tuple[Peer, float]] = OrderedDict()
        self.rejected: OrderedDict[bytes, None] = OrderedDict()
        self.pending: list[bytes] = []
        self.accepted = 0
        self._queue: list[tuple[Peer, Transaction]] = []
        self._queued: set[bytes] = set()  # txids queued or in the batch in flight
        self._batch: asyncio.Task[list[AcceptResult | Exception | None]] | None = None
        self._room = asyncio.Event()
        self._gone: list[Peer] = []  # disconnected peers that had announced orphans
        # Own transactions (API, wallet) that no peer has asked for yet (Core's unbroadcast set)
        self.unbroadcast: OrderedDict[bytes, None] = OrderedDict()
        self.reattempt_interval = REATTEMPT_INTERVAL
        self._last_reattempt = time.monotonic()
        # Called with the txids that entered the mempool (from a peer, the API, or back from a
        # disconnected block), on the event loop: the API's GET /v1/ws.
        self.entered_listeners: list[Callable[[Sequence[bytes]], None]] = []

    def _known(self, txid: bytes) -> bool:
        return (
            txid in self.node.mempool
            or txid in self.rejected
            or txid in self.requested
            or txid in self._queued
        )

    async def on_inv(self, peer: Peer, items: Sequence[InvItem]) -> None:
        now = time.monotonic()
        self._expire_requests(now)
        wanted = [i for i in items if not self._known(i.hash)]
        if not wanted:
            return
        for item in wanted:
            self.requested[item.hash] = (peer, now)
        while len(self.requested) > MAX_REQUESTED:
            self.requested.popitem(last=False)
        await peer.send(GetData(tuple(wanted)))

    def _expire_requests(self, now: float) -> None:
        while self.requested:
            txid, (_, asked) = next(iter(self.requested.items()))
            if now - asked < REQUEST_TIMEOUT:
                break
            del self.requested[txid]

    def not_found(self, peer: Peer, txid: bytes) -> None:
        asked = self.requested.get(txid)
        if asked is not None and asked[0] is peer:
            del self.requested[txid]

    def peer_gone(self, peer: Peer) -> None:
        for txid in [t for t, (p, _) in self.requested.items() if p is peer]:
            del self.requested[txid]
        if self.node.mempool.orphans.has_announcements(peer):
            self._gone.append(peer)  # its orphans are forgotten with the next batch (now if idle)
            if self._batch is None:
                self._start_batch()

    def tip_changed(self) -> None:
        self.rejected.clear()

    def _reject(self, txid: bytes) -> None:
        self.rejected[txid] = None
        while len(self.rejected) > MAX_REJECTED:
            self.rejected.popitem(last=False)

    async def on_tx(self, peer: Peer, tx: Transaction) -> None:
        txid = tx.txid
        self.requested.pop(txid, None)
        if txid in self.node.mempool or txid in self._queued:
            return
        while len(self._queue) >= MAX_QUEUED:
            self._room.clear()
            await self._room.wait()
        self._queue.append((peer, tx))
        self._queued.add(txid)
        if self._batch is None:
            self._start_batch()

    @property
    def queued(self) -> int:
        """Transactions received and not yet settled (queued or being validated)."""
        return len(self._queued)

    def _start_batch(self) -> None:
        batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        gone, self._gone = self._gone, []
        self._room.set()
        self._batch = asyncio.ensure_future(self.node.call(self._accept_batch, batch, gone))
        self._batch.add_done_callback(lambda done: self._batch_done(batch, done))

    def _accept_batch(
        self, batch: list[tuple[Peer, Transaction]], gone: list[Peer]
    ) -> list[AcceptResult | Exception | None]:
        """Chain thread: first forget the orphans that only disconnected peers announced; then
        each transaction's result, its consensus error, or None for an honest refusal (policy,
        or a state that changed under the sender). Orphans are held as announced by their
        sender (see ``node.mempool_orphans``)."""
        mempool = self.node.mempool
        for peer in gone:
            mempool.orphans.erase_for(peer)
        now = int(time.time())
        record = self.node.metrics.record_tx_result
        outcomes: list[AcceptResult | Exception | None] = []
        for peer, tx in batch:
            try:
                outcomes.append(mempool.accept(tx, now, peer))
            except HONEST_FAILURES as exc:
                record(exc.code, "p2p")
                outcomes.append(None)
            except ConsensusError as exc:
                record(exc.code, "p2p")
                outcomes.append(exc)
            except MempoolError as exc:
                record(exc.code, "p2p")
                outcomes.append(None)
            else:
                record(None, "p2p")
        return outcomes

    def _batch_done(
        self,
        batch: list[tuple[Peer, Transaction]],
        done: asyncio.Task[list[AcceptResult | Exception | None]],
    ) -> None:
        self._batch = None
        for _, tx in batch:
            self._queued.discard(tx.txid)
        if done.cancelled():
            return
        error = done.exception()
        if error is not None:  # the chain thread is gone (shutting down) or a bug
            log.error("tx_batch_failed", error=repr(error), txs=len(batch))
            return
        now = time.monotonic()
        for (peer, tx), outcome in zip(batch, done.result(), strict=True):
            if outcome is None:
                self._reject(tx.txid)
            elif isinstance(outcome, ConsensusError):
                self._reject(tx.txid)
                code = outcome.code
                peer.close(Misbehaving(f"invalid transaction: {code}: {outcome}"))
            elif isinstance(outcome, Exception):
                log.error("tx_accept_failed", error=repr(outcome), txid=tx.txid_hex)
            elif outcome.orphan:
                missing = [
                    InvItem(INV_TX, p) for p in outcome.missing_parents if not self._known(p)
                ]
                if missing and peer.connected:
                    for item in missing:
                        self.requested[item.hash] = (peer, now)
                    with contextlib.suppress(PeerDisconnected):
                        peer.try_send(GetData(tuple(missing)))
            else:
                self.accepted += len(outcome.accepted)
                self.pending.extend(outcome.accepted)
                peer.stats.last_tx_at = now  # inbound eviction protects peers that relay
                self._entered(outcome.accepted)
        while len(self.requested) > MAX_REQUESTED:
            self.requested.popitem(last=False)
        if self._queue or self._gone:
            self._start_batch()

    def announce_local(self, txids: Sequence[bytes]) -> None:
        """Queue transactions for announcement (ones a reorg brought back, say)."""
        self.pending.extend(txids)
        self._entered(txids)

    def broadcast_own(self, txids: Sequence[bytes]) -> None:
        """Announce transactions submitted to this node (API, wallet), and keep announcing
        them to the peers that do not know them, every ``reattempt_interval`` seconds, until a
        peer asks for one (``served``): a transaction sent while the node had no peers still
        leaves, as with Core's unbroadcast set."""
        self.pending.extend(txids)
        self.add_unbroadcast(txids)
        self._entered(txids)

    def _entered(self, txids: Sequence[bytes]) -> None:
        for listener in self.entered_listeners:
            try:
                listener(txids)
            except Exception:  # a listener's fault must not stop relay
                log.exception("tx_listener_failed")

    def add_unbroadcast(self, txids: Sequence[bytes]) -> None:
        unbroadcast = self.unbroadcast
        for txid in txids:
            unbroadcast[txid] = None
        while len(unbroadcast) > MAX_UNBROADCAST:
            unbroadcast.popitem(last=False)

    def served(self, txid: bytes) -> None:
        """A peer asked for ``txid`` and got it: it has left this node."""
        self.unbroadcast.pop(txid, None)

    def _reattempt(self) -> None:
        mempool = self.node.mempool
        for txid in list(self.unbroadcast):
            if txid in mempool:
                self.pending.append(txid)
            else:  # confirmed, replaced or expired meanwhile
                del self.unbroadcast[txid]

    def flush(self, peers: Sequence[Peer]) -> None:
        """Announce the queued txids to every peer that does not know them yet (and, every
        ``reattempt_interval``, the unbroadcast ones again)."""
        now = time.monotonic()
        if now - self._last_reattempt >= self.reattempt_interval:
            self._last_reattempt = now
            self._reattempt()
        if not self.pending:
            return
        items = [InvItem(INV_TX, txid) for txid in dict.fromkeys(self.pending)]
        self.pending = []
        for peer in peers:
            if not peer.connected:
                continue
            new = peer.known_inventory.filter_new(items)
            for start in range(0, len(new), MAX_INV_ITEMS):
                chunk = new[start : start + MAX_INV_ITEMS]
                if peer.try_send(Inv(tuple(chunk))):
                    peer.known_inventory.update(i.hash for i in chunk)
