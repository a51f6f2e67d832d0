"""The Stratum v1 mining pool and the Stratum miner client (see docs/pool.md).

May import consensus, mining, aiohttp, structlog, prometheus-client and the standard library;
reaches a node only over its REST API (``pool.nodeclient``). Public names are re-exported here.
"""

from pool.client import StratumMiner
from pool.config import PoolConfig
from pool.errors import (
    BlockRejected,
    ConfigError,
    NodeError,
    PoolError,
    StratumError,
)
from pool.nodeclient import HttpNodeClient, NodeClient, Template
from pool.rewards import (
    Credit,
    Payout,
    ShareWork,
    coinbase_payout,
    largest_remainder,
    pplns_weights,
    prop_weights,
    split_reward,
)
from pool.service import Pool
from pool.session import StratumSettings
from pool.vardiff import VardiffConfig

__all__ = [
    "BlockRejected",
    "ConfigError",
    "Credit",
    "HttpNodeClient",
    "NodeClient",
    "NodeError",
    "Payout",
    "Pool",
    "PoolConfig",
    "PoolError",
    "ShareWork",
    "StratumError",
    "StratumMiner",
    "StratumSettings",
    "Template",
    "VardiffConfig",
    "coinbase_payout",
    "largest_remainder",
    "pplns_weights",
    "prop_weights",
    "split_reward",
]
