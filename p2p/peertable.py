"""The connection manager's books on its peers.

May import the rest of ``p2p`` and the standard library. ``PeerTable`` holds every running
peer (and whether it is one of the configured peers), the peers whose handshake is done in
connection order, their handshake nonces (to detect a connection to ourselves), the addresses
being dialled and the inbound slots held while an upgrade is being answered. It only counts
and looks up; the manager decides. ``refusal`` says why an address may not connect at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from p2p.address import host_of
from p2p.banlist import BanList, Whitelist
from p2p.discourage import DiscouragedHosts
from p2p.eviction import EvictionCandidate, netgroup, select_for_eviction
from p2p.peer import Peer


class PeerTable:
    def __init__(self) -> None:
        self.live: dict[Peer, bool] = {}  # every running peer -> is it a configured peer
        self.connected: dict[Peer, None] = {}  # handshake done, in connection order
        self.nonces: set[int] = set()
        self.dialing: set[str] = set()
        self.accepting = 0  # inbound upgrades being answered

    def add(self, peer: Peer, *, configured: bool) -> None:
        self.live[peer] = configured
        self.nonces.add(peer.nonce)

    def forget(self, peer: Peer) -> None:
        self.live.pop(peer, None)
        self.connected.pop(peer, None)
        self.nonces.discard(peer.nonce)

    def handshaken(self) -> list[Peer]:
        """Peers whose handshake is done and that are still connected, in connection order."""
        return [peer for peer in self.connected if peer.connected]

    @property
    def inbound_count(self) -> int:
        return sum(1 for peer in self.live if peer.inbound)

    @property
    def outbound_count(self) -> int:
        return sum(1 for peer in self.live if not peer.inbound)

    def automatic_outbound(self) -> int:
        """Outbound slots in use by peers that are not configured ones, dials included."""
        running = sum(1 for peer, configured in self.live.items()
                      if not peer.inbound and not configured)  # fmt: skip
        return running + len(self.dialing)

    def at(self, address: str) -> list[Peer]:
        return [peer for peer in self.live if peer.address == address]

    def outbound_to(self, address: str) -> Peer | None:
        return next((p for p in self.live if p.address == address and not p.inbound), None)

    def busy_addresses(self) -> set[str]:
        """Addresses connected or being dialled: not worth dialling again."""
        return {peer.address for peer in self.live} | self.dialing


def eviction_candidate(
    table: PeerTable, keyed_hash: Callable[[bytes], int], whitelist: Whitelist
) -> Peer | None:
    """The inbound peer to evict for a newcomer when every slot is taken (``p2p.eviction``),
    or None: then the newcomer is refused. Whitelisted peers are never candidates."""
    candidates = [
        EvictionCandidate(
            peer,
            netgroup(host_of(peer.address)),
            peer.stats.connected_at,
            peer.stats.min_latency,
            peer.stats.last_tx_at,
            peer.stats.last_block_at,
        )
        for peer in table.live
        if peer.inbound and not peer.closing and peer.address not in whitelist
    ]
    chosen = select_for_eviction(candidates, keyed_hash)
    return None if chosen is None else cast(Peer, chosen.key)


def refusal(
    address: str, discouraged: DiscouragedHosts, banned: BanList, whitelist: Whitelist
) -> str | None:
    """Why ``address`` may not connect (``"discouraged"`` or ``"banned"``), or None; a
    whitelisted host is never refused."""
    if address in whitelist:
        return None
    if discouraged.is_discouraged(address):
        return "discouraged"
    return "banned" if banned.is_banned(address) else None
