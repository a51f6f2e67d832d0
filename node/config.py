"""Node configuration: one frozen value built from flags and ``SEEDCHAIN_*`` variables.

May import consensus, ``p2p.banlist``, ``p2p.settings``, node.template and stdlib. Every field
has a safe default: the API binds to 127.0.0.1 only, the P2P port to every interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from consensus.addresses import decode_address
from consensus.errors import AddressError
from consensus.params import ChainParams
from node.logs import LEVELS
from node.template import MIN_BLOCK_SIZE, TemplatePolicy
from p2p.banlist import InvalidSubnet, parse_subnet
from p2p.settings import ConnectionConfig

LogFormat = Literal["auto", "console", "json"]


MIN_PRUNE_MIB = 550  # Core's minimum -prune on main and test; regtest takes any size


class ConfigError(ValueError):
    """A flag or variable with a value the node cannot use (one-line message)."""


@dataclass(frozen=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_hostport(text: str, default_port: int | None = None) -> HostPort:
    """``host:port``, ``[v6]:port``, or a bare host when ``default_port`` is given."""
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
        if not sep:
            raise ConfigError(f"bad address {text!r}: missing ']'")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    if not host:
        raise ConfigError(f"bad address {text!r}: empty host")
    if not port_text:
        if default_port is None:
            raise ConfigError(f"bad address {text!r}: expected HOST:PORT")
        return HostPort(host, default_port)
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError(f"bad port in {text!r}")
    return HostPort(host, int(port_text))


def default_datadir(params: ChainParams) -> Path:
    return Path.home() / ".seedchain" / params.name


@dataclass(frozen=True)
class NodeConfig:
    params: ChainParams
    datadir: Path
    p2p_bind: HostPort
    api_bind: HostPort
    peers: tuple[HostPort, ...] = ()
    mine_to: str | None = None
    mine_threads: int = 1
    mine_interval: float = 0.0  # minimum seconds between blocks the built-in miner finds
    log_format: LogFormat = "auto"
    log_level: str = "info"
    listen: bool = True
    network_active: bool = True  # False: P2P starts off (Core's -networkactive=0)
    dial_from_addrbook: bool = True  # False: only --peer addresses and inbound connections
    whitelist: tuple[str, ...] = ()  # subnets with Core's noban permission (p2p.banlist)
    stall_timeout: float = 5.0  # seconds a requested block may take before its peer is dropped
    max_outbound: int = 8
    max_inbound: int = 64
    cache_mb: int = 128  # coin cache, like Bitcoin Core's -dbcache (450 MiB there)
    mempool_mb: int = 64
    min_relay_fee_rate: int = 1  # units per byte a transaction must pay to enter (-minrelaytxfee)
    mempool_expiry_hours: int = 336  # mempool entries older than this go (-mempoolexpiry)
    advertise: str = ""  # HOST:PORT our version message names as ours (-externalip)
    persist_mempool: bool = True  # save the mempool at shutdown, load it at start (Core's default)
    verify_processes: int = 0
    verify_threads: int = 0  # helper threads verifying the signatures of POSTed transactions
    block_notify: str | None = None  # a shell command run when the tip changes (%s: its hash)
    prune_bytes: int = 0  # keep stored blocks under this many bytes (node.prune); 0: keep all
    prune_keep_blocks: int = 288  # Core's MIN_BLOCKS_TO_KEEP (tests lower it)
    max_upload_target: int = 0  # bytes sent to peers per 24 h (-maxuploadtarget); 0: no target
    block_max_size: int = 0  # bytes of block our templates fill (-blockmaxweight); 0: all
    block_min_fee_rate: int = 0  # units/byte a package needs to enter a template (-blockmintxfee)
    assume_valid: bytes | None = None  # a block whose ancestors' signatures go unchecked
    stop_at_height: int | None = None  # connect up to this height, then stop (node.stopheight)
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mine_to is not None:
            try:
                decode_address(self.mine_to, self.params.hrp)
            except AddressError as exc:
                raise ConfigError(f"--mine-to: {exc}") from None
        if not 1 <= self.mine_threads <= 256:
            raise ConfigError("--mine-threads must be between 1 and 256")
        if self.log_format not in ("auto", "console", "json"):
            raise ConfigError("--log-format must be console or json")
        if not 0 <= self.verify_threads <= 64:
            raise ConfigError("--verify-threads must be between 0 and 64")
        if self.log_level not in LEVELS:
            raise ConfigError("--log-level must be debug, info, warning or error")
        if not 0 <= self.max_outbound <= 64:
            raise ConfigError("--max-outbound must be between 0 and 64")
        if not 0 <= self.max_inbound <= 1000:
            raise ConfigError("--max-inbound must be between 0 and 1000")
        if not 0 <= self.min_relay_fee_rate <= 100_000:
            raise ConfigError("--min-relay-fee must be between 0 and 100000 units per byte")
        if not 1 <= self.mempool_expiry_hours <= 100_000:
            raise ConfigError("--mempool-expiry must be between 1 and 100000 hours")
        if self.advertise:
            try:
                parse_hostport(self.advertise)
            except ConfigError as exc:
                raise ConfigError(f"--advertise: {exc}") from None
        if self.prune_bytes < 0 or (
            self.prune_bytes
            and self.params.name != "regtest"
            and self.prune_bytes < MIN_PRUNE_MIB * 1024 * 1024
        ):
            raise ConfigError(f"--prune must be 0 (off) or at least {MIN_PRUNE_MIB} MiB")
        if self.block_max_size and not MIN_BLOCK_SIZE <= self.block_max_size <= (
            self.params.max_block_size
        ):
            raise ConfigError(
                f"--block-max-size must be 0 (the consensus limit) or {MIN_BLOCK_SIZE} to"
                f" {self.params.max_block_size} bytes"
            )
        if self.block_min_fee_rate < 0:
            raise ConfigError("--block-min-fee must be >= 0")
        if self.max_upload_target < 0:
            raise ConfigError("--max-upload-target must be >= 0 (0: no target)")
        if self.stop_at_height is not None and self.stop_at_height < 0:
            raise ConfigError("--stop-at-height must be >= 0")
        if self.prune_keep_blocks < 1:
            raise ConfigError("prune_keep_blocks must be at least 1")
        for subnet in self.whitelist:
            try:
                parse_subnet(subnet)
            except InvalidSubnet as exc:
                raise ConfigError(f"--whitelist: {exc}") from None

    @property
    def template_policy(self) -> TemplatePolicy:
        return TemplatePolicy(self.block_max_size, self.block_min_fee_rate)

    def connection_config(self) -> ConnectionConfig:
        """The P2P connection manager's settings from these."""
        return ConnectionConfig(
            bind_host=self.p2p_bind.host,
            bind_port=self.p2p_bind.port,
            listen=self.listen,
            network_active=self.network_active,
            peers=tuple(str(p) for p in self.peers),
            max_outbound=self.max_outbound,
            max_inbound=self.max_inbound,
            dial_from_addrbook=self.dial_from_addrbook,
            whitelist=self.whitelist,
            advertise_address=str(parse_hostport(self.advertise)) if self.advertise else "",
        )


def parse_assume_valid(text: str) -> bytes | None:
    """``--assume-valid``: a block hash (64 hex digits, as displayed) or empty / ``0`` for none."""
    text = text.strip()
    if text in ("", "0"):
        return None
    if len(text) != 64:
        raise ConfigError("--assume-valid must be a block hash (64 hex digits) or 0")
    try:
        return bytes.fromhex(text)[::-1]
    except ValueError:
        raise ConfigError("--assume-valid must be a block hash (64 hex digits) or 0") from None
