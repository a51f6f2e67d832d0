"""Tunable deadlines and bounds of the P2P layer. Standard library and ``p2p.messages``.

``PeerSettings`` govern one connection; ``ConnectionConfig`` the connection manager (it
carries the ``PeerSettings`` its peers use). Tests shrink the timeouts; the defaults are
for the real network.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from p2p.messages import NODE_NETWORK

USER_AGENT = "/seedchain:0.1.0/"
DISCOURAGE_SECONDS = 24 * 60 * 60


@dataclass(frozen=True, slots=True)
class PeerSettings:
    """Deadlines (seconds) and bounds (bytes, frames) of one connection."""

    handshake_timeout: float = 10.0  # version + verack, both ways
    ping_interval: float = 60.0
    pong_timeout: float = 30.0
    idle_timeout: float = 180.0  # no frame at all for this long: the connection is dead
    send_timeout: float = 20.0  # the send queue stays full this long: disconnect
    write_timeout: float = 60.0  # writing one frame to the socket
    close_timeout: float = 2.0
    max_send_queue_bytes: int = 16 * 1024 * 1024
    max_send_queue_frames: int = 4096
    known_inventory: int = 50_000


@dataclass(frozen=True, slots=True)
class ConnectionConfig:
    """The connection manager's configuration."""

    bind_host: str = "0.0.0.0"
    bind_port: int | None = None  # None: the network's P2P port; 0: any free port
    listen: bool = True
    advertise_address: str = ""  # "host:port" sent in our version message, if any
    max_outbound: int = 8  # automatic and connect() dials; configured peers come on top
    max_inbound: int = 64
    peers: tuple[str, ...] = ()  # --peer addresses, kept connected
    dial_from_addrbook: bool = True
    whitelist: tuple[str, ...] = ()  # subnets with Core's noban permission (p2p.banlist)
    network_active: bool = True  # False: start with P2P off (Core's -networkactive=0)
    outbound_interval: float = 5.0  # how often the automatic outbound slots are topped up
    connect_timeout: float = 10.0
    retry_initial: float = 1.0  # backoff for configured peers, doubling up to retry_max
    retry_max: float = 300.0
    discourage_seconds: float = DISCOURAGE_SECONDS
    addrbook_save_interval: float = 15 * 60.0
    user_agent: str = USER_AGENT
    services: int = NODE_NETWORK
    peer: PeerSettings = field(default_factory=PeerSettings)
