"""The REST API's knobs: rate limit, body limits, timeouts, page sizes.

Standard library and ``node.config`` only. Defaults are safe for a node on the open internet
(behind the default 127.0.0.1 bind they are generous); ``from_config`` reads overrides from
``NodeConfig.extra`` (``api_rate_limit``, ``api_rate_burst``, ``api_rate_limit_loopback``,
``api_request_timeout``), which the CLI fills from ``--api-rate-limit`` and friends.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from node.config import NodeConfig

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class ApiSettings:
    rate_limit: float = 50.0  # requests per second per client IP (token refill); 0: off
    rate_burst: float = 100.0  # bucket size: requests a client may send at once
    rate_limit_loopback: bool = True  # False: 127.0.0.1 / ::1 clients are never limited
    max_rate_clients: int = 10_000  # buckets kept; full buckets are dropped first
    max_body_bytes: int = 256 * KIB  # POST /v1/tx and the small JSON bodies
    max_block_body_bytes: int = 2 * MIB + MIB // 2  # POST /v1/mining/submit (1 MiB block as hex)
    request_timeout: float = 30.0  # seconds for one request, body included
    generate_timeout: float = 600.0  # POST /v1/mining/generate
    peer_connect_timeout: float = 15.0
    max_generate: int = 1000  # blocks per POST /v1/mining/generate
    page_size: int = 25  # GET /v1/address/{a}/txs, as Esplora
    max_page_size: int = 100
    max_mempool_txs_in_history: int = 50  # unconfirmed entries on the first history page
    max_utxos: int = 10_000  # GET /v1/address/{a}/utxo answers 400 too_many_utxos beyond
    sync_lag_blocks: int = 6  # 503 "syncing" when peers are this many blocks ahead
    index_catch_up_step: int = 500  # blocks indexed per chain-thread call while catching up
    index_catch_up_outputs: int = 20_000  # ... and no more blocks once they hold this many

    def __post_init__(self) -> None:
        if self.rate_limit < 0 or self.rate_burst < 1:
            raise ValueError("rate_limit must be >= 0 and rate_burst >= 1")
        if not 1 <= self.page_size <= self.max_page_size:
            raise ValueError("page_size must be between 1 and max_page_size")

    @classmethod
    def from_config(cls, config: NodeConfig) -> ApiSettings:
        """Defaults with the overrides found in ``config.extra`` (strings, as from the CLI)."""
        extra = config.extra
        settings = cls()
        if "api_rate_limit" in extra:
            settings = replace(settings, rate_limit=float(extra["api_rate_limit"]))
        if "api_rate_burst" in extra:
            settings = replace(settings, rate_burst=float(extra["api_rate_burst"]))
        if "api_rate_limit_loopback" in extra:
            value = extra["api_rate_limit_loopback"].strip().lower()
            settings = replace(settings, rate_limit_loopback=value in ("1", "true", "yes", "on"))
        if "api_request_timeout" in extra:
            settings = replace(settings, request_timeout=float(extra["api_request_timeout"]))
        return settings
