"""Pool configuration: one frozen value built from flags and ``SEEDCHAIN_*`` variables.

May import consensus, the standard library and ``pool`` modules. Defaults: Stratum on every
interface at the network's pool port (3333 main, 13333 test, 23333 regtest), the pool API on
127.0.0.1 at the pool port + 1, PPLNS with N = 2, no fee, a dust threshold of 10,000 units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from consensus.addresses import decode_address
from consensus.coinbase import MAX_TAG_SIZE
from consensus.errors import AddressError
from consensus.params import ChainParams
from pool.errors import ConfigError
from pool.jobs import DEFAULT_REFRESH_INTERVAL, DEFAULT_TAG
from pool.rewards import SCHEMES
from pool.session import StratumSettings

DEFAULT_DUST = 10_000
DEFAULT_MAX_OUTPUTS = 250  # ~33 bytes each: well inside the node's 20 kB coinbase reserve


def parse_hostport(text: str, default_port: int) -> tuple[str, int]:
    """``host:port``, ``[v6]:port``, ``host`` or ``:port``."""
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ConfigError(f"bad address {text!r}")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    host = host or "0.0.0.0"
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError(f"bad port in {text!r}")
    return host, int(port_text)


@dataclass(frozen=True)
class PoolConfig:
    params: ChainParams
    node_url: str
    operator: str
    datadir: Path
    scheme: str = "pplns"
    fee_ppm: int = 0
    stratum_bind: tuple[str, int] = ("0.0.0.0", 0)
    api_bind: tuple[str, int] | None = ("127.0.0.1", 0)
    pplns_n: int = 2
    dust: int = DEFAULT_DUST
    max_outputs: int = DEFAULT_MAX_OUTPUTS
    tag: bytes = DEFAULT_TAG
    template_interval: float = 5.0  # refetch the template (and refresh the split) this often
    tip_poll_interval: float = 0.5  # ask the node for its tip this often
    settle_interval: float = 30.0  # re-check found blocks and resubmit pending ones
    job_refresh_interval: float = DEFAULT_REFRESH_INTERVAL  # new work at least this often
    hashrate_window: float = 600.0
    prune_shares: int = 0  # >0: prune the share log, keeping the newest N blocks' windows
    stratum: StratumSettings = field(default_factory=StratumSettings)

    def __post_init__(self) -> None:
        try:
            decode_address(self.operator, self.params.hrp)
        except AddressError as exc:
            raise ConfigError(f"--operator: {exc}") from None
        object.__setattr__(self, "operator", self.operator.lower())
        if self.scheme not in SCHEMES:
            raise ConfigError(f"--scheme must be one of {', '.join(SCHEMES)}")
        if not 0 <= self.fee_ppm <= 1_000_000:
            raise ConfigError("--fee must be between 0 and 100 percent")
        if self.pplns_n < 1:
            raise ConfigError("--pplns-n must be >= 1")
        if self.prune_shares < 0:
            raise ConfigError("--prune-shares must be >= 0 (0: keep every share)")
        if self.dust < 0:
            raise ConfigError("--dust must be >= 0")
        if not 2 <= self.max_outputs <= 1000:
            raise ConfigError("--max-outputs must be between 2 and 1000")
        if len(self.tag) > MAX_TAG_SIZE:
            raise ConfigError(f"the coinbase tag is at most {MAX_TAG_SIZE} bytes")
        intervals = (
            self.template_interval,
            self.tip_poll_interval,
            self.settle_interval,
            self.job_refresh_interval,
        )
        if min(intervals) <= 0:
            raise ConfigError("intervals must be positive")

    @property
    def database(self) -> Path:
        return self.datadir / "pool.sqlite3"
