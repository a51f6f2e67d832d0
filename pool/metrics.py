"""Prometheus metrics of the pool, in a registry of its own (so a test can run many pools).

May import prometheus-client and the standard library.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST

STRATUM_CODES = {
    20: "other",
    21: "stale",
    22: "duplicate",
    23: "low_difficulty",
    24: "unauthorized",
    25: "not_subscribed",
}


class PoolMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.shares_accepted = Counter(
            "seedchain_pool_shares_accepted", "Shares accepted", registry=r
        )
        self.share_work = Counter(
            "seedchain_pool_share_difficulty", "Sum of accepted share difficulty", registry=r
        )
        self.shares_rejected = Counter(
            "seedchain_pool_shares_rejected", "Shares rejected, by reason", ["reason"], registry=r
        )
        self.blocks = Counter(
            "seedchain_pool_blocks", "Blocks found, by what the node said", ["status"], registry=r
        )
        self.connections = Gauge(
            "seedchain_pool_connections", "Open Stratum connections", registry=r
        )
        self.connections_refused = Counter(
            "seedchain_pool_connections_refused", "Connections refused by a limit", registry=r
        )
        self.sessions_resumed = Counter(
            "seedchain_pool_sessions_resumed",
            "Reconnections that resumed their session (extranonce1, difficulty)",
            registry=r,
        )
        self.workers = Gauge("seedchain_pool_workers", "Authorized workers", registry=r)
        self.hashrate = Gauge(
            "seedchain_pool_hashrate", "Hash rate estimated from share work (H/s)", registry=r
        )
        self.jobs = Counter("seedchain_pool_jobs", "Jobs sent, by kind", ["kind"], registry=r)
        self.node_errors = Counter(
            "seedchain_pool_node_errors", "Failed requests to the node", registry=r
        )
        self.shares_pruned = Counter(
            "seedchain_pool_shares_pruned", "Shares deleted from the share log", registry=r
        )
        self.pruned_upto = Gauge(
            "seedchain_pool_pruned_upto", "Every share with an id up to this is pruned", registry=r
        )
        self.height = Gauge("seedchain_pool_height", "Height of the current job", registry=r)

    def count_accepted(self, difficulty: float, is_block: bool) -> None:
        self.shares_accepted.inc()
        self.share_work.inc(difficulty)

    def count_rejected(self, code: int) -> None:
        self.shares_rejected.labels(STRATUM_CODES.get(code, "other")).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
