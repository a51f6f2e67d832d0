"""Prometheus metrics of one node, in a registry of its own.

May import prometheus-client, ``p2p.messages`` (the known command names), ``node.chain`` types
and the standard library. Never the process-wide default registry: ten nodes in one test process
each own a ``NodeMetrics`` and never see each other's numbers.

Who feeds what:
- ``on_chain_update`` is a chain listener (chain thread): blocks connected and disconnected,
  reorgs, the height.
- ``record_tx_result`` is called wherever a transaction is offered to the mempool (the REST
  API does for ``POST /v1/tx``; the P2P layer should with ``source="p2p"``).
- ``p2p_message(direction, command, size)`` is the P2P layer's hook for every frame.
- ``observe_api`` is called by the REST API's middleware, per route template.
- ``refresh`` sets the gauges read at scrape time (height, peers, mempool, hash rate).

prometheus-client's metric objects are thread-safe, so the chain thread and the event loop may
both write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4 as CONTENT_TYPE

from p2p.messages import MESSAGE_TYPES

if TYPE_CHECKING:
    from node.chain import ChainUpdate

__all__ = ["CONTENT_TYPE", "NodeMetrics"]

# API latency buckets (seconds): most answers take well under a millisecond.
API_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
DIRECTIONS = frozenset({"in", "out"})
TX_SOURCES = frozenset({"api", "p2p", "wallet", "reorg"})
MAX_REASON_LENGTH = 64


class NodeMetrics:
    """Every metric of one node (see the module docstring for who feeds each)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.height = Gauge(
            "seedchain_height", "Height of the active chain's tip", registry=registry
        )
        self.peers = Gauge(
            "seedchain_peers", "Connected peers by direction", ["direction"], registry=registry
        )
        self.mempool_transactions = Gauge(
            "seedchain_mempool_transactions", "Transactions in the mempool", registry=registry
        )
        self.mempool_bytes = Gauge(
            "seedchain_mempool_bytes",
            "Bytes of the canonical encodings of the mempool's transactions",
            registry=registry,
        )
        self.blocks_connected = Counter(
            "seedchain_blocks_connected", "Blocks connected to the active chain", registry=registry
        )
        self.blocks_disconnected = Counter(
            "seedchain_blocks_disconnected",
            "Blocks disconnected from the active chain (reorgs)",
            registry=registry,
        )
        self.reorgs = Counter(
            "seedchain_reorgs", "Chain updates that disconnected blocks", registry=registry
        )
        self.tx_accepted = Counter(
            "seedchain_transactions_accepted",
            "Transactions accepted into the mempool",
            ["source"],
            registry=registry,
        )
        self.tx_rejected = Counter(
            "seedchain_transactions_rejected",
            "Transactions refused, by the error code of the rule or policy",
            ["reason", "source"],
            registry=registry,
        )
        self.p2p_bytes = Counter(
            "seedchain_p2p_bytes",
            "P2P frame bytes by direction and command",
            ["direction", "command"],
            registry=registry,
        )
        self.p2p_messages = Counter(
            "seedchain_p2p_messages",
            "P2P messages by direction and command",
            ["direction", "command"],
            registry=registry,
        )
        self.api_latency = Histogram(
            "seedchain_api_request_duration_seconds",
            "REST API request latency by method and route template",
            ["method", "route"],
            buckets=API_BUCKETS,
            registry=registry,
        )
        self.api_requests = Counter(
            "seedchain_api_requests",
            "REST API responses by method, route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.miner_hashrate = Gauge(
            "seedchain_miner_hashrate_hashes_per_second",
            "Hash rate of the built-in miner (0 when it is off)",
            registry=registry,
        )
        self.ws_subscribers = Gauge(
            "seedchain_ws_subscribers", "Clients of GET /v1/ws", registry=registry
        )
        self.pruned_height = Gauge(
            "seedchain_pruned_height",
            "Blocks at or below this height were pruned (--prune); 0: none",
            registry=registry,
        )
        self.block_notify = Counter(
            "seedchain_block_notify",
            "--block-notify runs by result (ok, failed, killed)",
            ["result"],
            registry=registry,
        )
        self.inbound_evictions = Counter(
            "seedchain_p2p_inbound_evictions",
            "Inbound peers evicted to make room for a newcomer (all slots taken)",
            registry=registry,
        )
        self._known_commands = frozenset(MESSAGE_TYPES)
        # label children cached by key: .labels() takes a lock and builds a tuple each call
        self._api_children: dict[tuple[str, str, int], tuple[Histogram, Counter]] = {}
        self._accepted_children: dict[str, Counter] = {}
        self._p2p_children: dict[tuple[str, str], tuple[Counter, Counter]] = {}
        self.p2p_totals = {"in": 0, "out": 0}  # P2P bytes since start (Core's getnettotals)

    # --- chain (chain thread) ---------------------------------------------------------------
    def on_chain_update(self, update: ChainUpdate) -> None:
        """Chain listener: count blocks and reorgs, move the height gauge."""
        if update.disconnected:
            self.blocks_disconnected.inc(len(update.disconnected))
            self.reorgs.inc()
        if update.connected:
            self.blocks_connected.inc(len(update.connected))
            self.height.set(update.connected[-1][1])
        elif update.disconnected:
            self.height.set(update.disconnected[-1][1] - 1)

    # --- transactions -------------------------------------------------------------------------
    def record_tx_result(self, code: str | None, source: str = "api") -> None:
        """One transaction offered to the mempool: ``code`` None when accepted, else the
        ``code`` of the consensus or policy error that refused it."""
        source = source if source in TX_SOURCES else "other"
        if code is None:
            child = self._accepted_children.get(source)
            if child is None:
                child = self._accepted_children[source] = self.tx_accepted.labels(source)
            child.inc()
        else:
            self.tx_rejected.labels(code[:MAX_REASON_LENGTH], source).inc()

    # --- P2P ----------------------------------------------------------------------------------
    def p2p_message(self, direction: str, command: str, size: int) -> None:
        """One P2P frame of ``size`` bytes sent (``"out"``) or received (``"in"``). Commands
        outside the protocol's known set count as ``other`` (a peer cannot blow up the label
        set)."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'in' or 'out', not {direction!r}")
        if command not in self._known_commands:
            command = "other"
        key = (direction, command)
        children = self._p2p_children.get(key)
        if children is None:
            children = self._p2p_children[key] = (
                self.p2p_bytes.labels(direction, command),
                self.p2p_messages.labels(direction, command),
            )
        children[0].inc(size)
        children[1].inc()
        self.p2p_totals[direction] += size

    # --- API ----------------------------------------------------------------------------------
    def observe_api(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._api_children.get(key)
        if children is None:
            children = self._api_children[key] = (
                self.api_latency.labels(method, route),
                self.api_requests.labels(method, route, str(status)),
            )
        children[0].observe(seconds)
        children[1].inc()

    # --- scrape -------------------------------------------------------------------------------
    def refresh(
        self,
        *,
        height: int,
        mempool_transactions: int,
        mempool_bytes: int,
        peers_in: int,
        peers_out: int,
        hashrate: float,
        ws_subscribers: int = 0,
        pruned_height: int = 0,
    ) -> None:
        """Set the gauges that are read rather than counted (``hashrate`` in hashes/s)."""
        self.height.set(height)
        self.mempool_transactions.set(mempool_transactions)
        self.mempool_bytes.set(mempool_bytes)
        self.peers.labels("in").set(peers_in)
        self.peers.labels("out").set(peers_out)
        self.miner_hashrate.set(hashrate)
        self.ws_subscribers.set(ws_subscribers)
        self.pruned_height.set(pruned_height)

    def render(self) -> bytes:
        """The registry in Prometheus' text exposition format."""
        return generate_latest(self.registry)
