"""Transaction relay: ``inv`` / ``getdata`` / ``tx`` between the mempool and the peers.

May import consensus, p2p and node modules. Announcements are batched: accepted txids are
queued and flushed to every peer that does not know them every ``flush_interval`` seconds (by
the node's relay task), so a burst of transactions costs one ``inv`` per peer, not one each.
Transactions a peer sends that break a consensus rule get it disconnected and discouraged;
policy refusals and missing inputs (honest races) only go to a bounded "recently rejected" set
that is cleared on every new tip.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
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
from p2p.errors import Misbehaving
from p2p.messages import INV_TX, MAX_INV_ITEMS, GetData, Inv, InvItem
from p2p.peer import Peer

if TYPE_CHECKING:
    from node.server import Node

log = structlog.get_logger("seedchain.txrelay")

MAX_REQUESTED = 50_000
MAX_REJECTED = 50_000
REQUEST_TIMEOUT = 60.0
# Failures that an honest peer can relay: the state changed under it, or it is ahead of us.
HONEST_FAILURES = (MissingInputs, ImmatureCoinbaseSpend, NonFinalTransaction, UnexpectedCoinbase)


class TxRelay:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.requested: OrderedDict[bytes, tuple[Peer, float]] = OrderedDict()
        self.rejected: OrderedDict[bytes, None] = OrderedDict()
        self.pending: list[bytes] = []
        self.accepted = 0

    def _known(self, txid: bytes) -> bool:
        return txid in self.node.mempool or txid in self.rejected or txid in self.requested

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

    def tip_changed(self) -> None:
        self.rejected.clear()

    def _reject(self, txid: bytes) -> None:
        self.rejected[txid] = None
        while len(self.rejected) > MAX_REJECTED:
            self.rejected.popitem(last=False)

    async def on_tx(self, peer: Peer, tx: Transaction) -> None:
        txid = tx.txid
        self.requested.pop(txid, None)
        if txid in self.node.mempool:
            return
        try:
            result = await self.node.call(self.node.mempool.accept, tx, int(time.time()))
        except HONEST_FAILURES:
            self._reject(txid)
            return
        except ConsensusError as exc:
            self._reject(txid)
            raise Misbehaving(f"invalid transaction: {exc.code}: {exc}") from None
        except MempoolError:
            self._reject(txid)
            return
        if result.orphan:
            missing = [InvItem(INV_TX, p) for p in result.missing_parents if not self._known(p)]
            if missing:
                await self.on_inv(peer, missing)
            return
        self.accepted += len(result.accepted)
        self.pending.extend(result.accepted)

    def announce_local(self, txids: Sequence[bytes]) -> None:
        """Queue transactions accepted from the API or the wallet for announcement."""
        self.pending.extend(txids)

    def flush(self, peers: Sequence[Peer]) -> None:
        """Announce the queued txids to every peer that does not know them yet."""
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
