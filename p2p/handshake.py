"""The version handshake's content: what we announce and what we accept.

May import ``consensus`` (params) and the rest of ``p2p``. The exchange itself (send
``version``, expect ``version``, send ``verack``, expect ``verack``, all within
``handshake_timeout``) is run by ``Peer``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from consensus.params import ChainParams
from p2p.errors import HandshakeFailed, SelfConnection, WrongChain
from p2p.messages import MIN_PROTOCOL_VERSION, NODE_NETWORK, PROTOCOL_VERSION, Version
from p2p.settings import USER_AGENT


@dataclass(frozen=True, slots=True)
class LocalNode:
    """What this node says about itself in its ``version`` message."""

    params: ChainParams
    services: int = NODE_NETWORK
    user_agent: str = USER_AGENT
    listen_address: str = ""
    best_height: Callable[[], int] = field(default=lambda: 0)
    protocol_version: int = PROTOCOL_VERSION


def make_version(local: LocalNode, nonce: int, now: float | None = None) -> Version:
    return Version(
        protocol_version=local.protocol_version,
        chain_id=local.params.chain_id,
        genesis_hash=local.params.genesis_hash,
        best_height=local.best_height(),
        services=local.services,
        user_agent=local.user_agent,
        nonce=nonce,
        listen_address=local.listen_address,
        timestamp=int(time.time() if now is None else now),
    )


def check_version(
    version: Version, params: ChainParams, is_own_nonce: Callable[[int], bool]
) -> None:
    """Raise ``WrongChain``, ``SelfConnection`` or ``HandshakeFailed`` for a peer we refuse."""
    if version.chain_id != params.chain_id:
        raise WrongChain(f"chain_id {version.chain_id!r} is not {params.chain_id!r}")
    if version.genesis_hash != params.genesis_hash:
        raise WrongChain(f"genesis {version.genesis_hash[::-1].hex()} is not ours")
    if is_own_nonce(version.nonce):
        raise SelfConnection("version nonce is our own")
    if version.protocol_version < MIN_PROTOCOL_VERSION:
        raise HandshakeFailed(f"protocol version {version.protocol_version} is too old")
