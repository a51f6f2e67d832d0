"""What every request handler reaches through ``request.app[CONTEXT]``: the node, settings,
metrics, the address index, and a snapshot of the tip.

May import aiohttp, node modules (never ``node.server`` at run time: it imports us) and the
standard library. Everything that touches ``node.chain`` or ``node.mempool`` runs on the chain
thread through :meth:`ApiContext.call`; the one exception is the tip snapshot, an immutable
value that the chain listener replaces after every activation, so the hottest endpoints
(``/v1/blocks/tip/height``) answer without a thread hop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import structlog
from aiohttp import web

from node.addrindex import AddressIndex
from node.api.deadlines import Deadlines
from node.api.errors import ApiError
from node.api.events_hub import EventHub
from node.api.guard import ClientGate, RateLimiter
from node.api.settings import ApiSettings
from node.api.submit import TxSubmitter
from node.api.unconfirmed import UnconfirmedIndex
from node.metrics import NodeMetrics
from p2p.banlist import BanList

if TYPE_CHECKING:
    from node.chain import ChainState, ChainUpdate
    from node.mempool import Mempool
    from node.server import Node

T = TypeVar("T")
log = structlog.get_logger("seedchain.api")


class PeerManager(Protocol):
    """What the API needs of the P2P connection manager (``node.connmgr``)."""

    def peers(self) -> Sequence[Any]: ...

    async def connect(self, address: str) -> Any: ...

    async def disconnect(self, address: str) -> bool: ...

    @property
    def banned(self) -> BanList: ...

    async def disconnect_banned(self) -> int: ...

    @property
    def network_active(self) -> bool: ...

    async def set_network_active(self, active: bool) -> int: ...


@dataclass(frozen=True, slots=True)
class TipSnapshot:
    height: int
    hash_hex: str


class ApiContext:
    def __init__(self, node: Node, settings: ApiSettings, metrics: NodeMetrics, token: str) -> None:
        self.node = node
        self.params = node.params
        self.settings = settings
        self.metrics = metrics
        self.token = token
        self.index: AddressIndex | None = None
        self.unconfirmed = UnconfirmedIndex()
        self.submitter = TxSubmitter(node)
        self.deadlines = Deadlines()  # its sweeper runs with the application (node.api.app)
        self.tip: TipSnapshot | None = None
        self.closing = asyncio.Event()  # the server is stopping: long polls answer now
        self.events = EventHub()  # GET /v1/ws subscribers (event loop only)
        self.index_waiting = False  # the index was left behind while the node synced
        self.wake_indexer: Callable[[], None] = lambda: None  # set by the API server
        limiter = (
            RateLimiter(
                settings.rate_limit, settings.rate_burst, max_clients=settings.max_rate_clients
            )
            if settings.rate_limit > 0
            else None
        )
        self.gate = ClientGate(limiter, settings.rate_limit_loopback)

    # --- the chain thread ---------------------------------------------------------------------
    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the node's chain thread."""
        return await self.node.call(fn, *args)

    @property
    def chain(self) -> ChainState:
        """Only on the chain thread."""
        return self.node.chain

    @property
    def mempool(self) -> Mempool:
        """Only on the chain thread."""
        return self.node.mempool

    def attach(self, index: AddressIndex | None) -> None:
        """Chain thread: take the index, snapshot the tip, start listening to the chain."""
        self.index = index
        chain = self.node.chain
        self.tip = TipSnapshot(chain.height, chain.tip.hash_hex)
        self.metrics.height.set(chain.height)
        if self.on_chain_update not in chain.listeners:
            chain.listeners.append(self.on_chain_update)

    def detach(self) -> None:
        """Chain thread: stop listening and close the index."""
        listeners = self.node.chain.listeners
        if self.on_chain_update in listeners:
            listeners.remove(self.on_chain_update)
        if self.index is not None:
            self.index.close()
            self.index = None

    def on_chain_update(self, update: ChainUpdate) -> None:
        """Chain listener (chain thread): metrics, tip snapshot, address index."""
        chain = self.node.chain
        self.tip = TipSnapshot(chain.height, chain.tip.hash_hex)
        self.metrics.on_chain_update(update)
        if self.index is None:
            return
        if self.far_behind():
            # As Bitcoin Core's optional indexes do, the address index waits while the node
            # catches up: indexing every block as it connects would slow the sync down, and
            # the API answers 503 "syncing" meanwhile anyway. It catches up afterwards.
            self.index_waiting = True
            return
        if self.index_waiting:
            self.index_waiting = False
            self.wake_indexer()  # the catch-up task takes it to the tip in bounded steps
            return
        try:
            if not self._index_step(self.index):
                self.wake_indexer()  # a big step: the catch-up task does the rest
        except Exception:  # the chain must not fail because an index did; it catches up later
            log.exception("address_index_update_failed")

    def far_behind(self) -> bool:
        """Chain thread: the chain is more than ``sync_lag_blocks`` behind the best header."""
        best = self.best_peer_height()
        return best is not None and best - self.node.chain.height > self.settings.sync_lag_blocks

    def index_catch_up_step(self) -> bool:
        """Chain thread: one bounded step of the address index towards the tip; True when
        there is nothing more to do for now (at the tip, no index, or the node is far behind
        and the index waits, to be woken by ``on_chain_update`` once it has caught up)."""
        index = self.index
        if index is None:
            return True
        if self.far_behind():
            self.index_waiting = True
            return True
        return self._index_step(index)

    def _index_step(self, index: AddressIndex) -> bool:
        """One bounded step of ``index`` towards the chain's tip; True when it is there."""
        settings = self.settings
        return index.sync(
            self.node.chain, settings.index_catch_up_step, settings.index_catch_up_outputs
        )

    def pruned(self) -> bool:
        """The node prunes, or its directory was pruned before: no address index."""
        return bool(self.node.config.prune_bytes or self.node.chain.pruned_height)

    def index_ready(self) -> AddressIndex:
        """Chain thread: the address index, caught up with the chain (one more bounded step
        is tried here); 503 ``index_syncing`` while it is still behind."""
        index = self.index
        if index is None and self.pruned():
            raise ApiError(
                503,
                "index_disabled",
                "this node is pruned: it keeps no address or transaction index",
            )
        if index is None:
            raise ApiError(503, "index_unavailable", "the address index is not open")
        if not index.is_synced(self.node.chain) and not self._index_step(index):
            raise ApiError(
                503, "index_syncing", "the address index is still catching up with the chain"
            )
        return index

    # --- readiness ----------------------------------------------------------------------------
    @property
    def connmgr(self) -> PeerManager | None:
        return getattr(self.node, "connmgr", None)

    def peer_counts(self) -> tuple[int, int]:
        """(inbound, outbound) connected peers; (0, 0) without P2P."""
        manager = self.connmgr
        peers = [] if manager is None else list(manager.peers())
        inbound = sum(1 for peer in peers if getattr(peer, "inbound", False))
        return inbound, len(peers) - inbound

    def miner_hashps(self) -> float:
        """The built-in miner's hash rate in hashes per second (it reports MH/s); 0 without."""
        miner = getattr(self.node, "miner", None)
        return float(getattr(miner, "hashrate", 0.0) or 0.0) * 1e6

    def best_peer_height(self) -> int | None:
        """The height of the best header chain the node has validated (headers-first sync),
        if it syncs at all. Heights that peers merely claim are not used: a lying peer must
        not be able to keep the API answering 503."""
        netsync = getattr(self.node, "netsync", None)
        if netsync is None:
            return None
        return int(netsync.best_header.height)

    def check_synced(self) -> None:
        """503 ``syncing`` while the chain is far behind what peers have."""
        best = self.best_peer_height()
        tip = self.tip
        if (
            best is not None
            and tip is not None
            and best - tip.height > self.settings.sync_lag_blocks
        ):
            raise ApiError(
                503,
                "syncing",
                f"the node is still syncing: height {tip.height} of {best} headers",
                {"Retry-After": "10"},
            )


CONTEXT: web.AppKey[ApiContext] = web.AppKey("seedchain_api", ApiContext)
