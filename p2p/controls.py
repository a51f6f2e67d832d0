"""The operator's and the node's controls on a ``p2p.connmgr.ConnectionManager`` (Core's
``disconnectnode``, ``setban``'s disconnections, discouragement, ``setnetworkactive``, and the
extra outbound peer tried while the tip looks stale), kept apart from the manager's connection
machinery. A mixin: ``ConnectionManager`` provides the state named below.

May import asyncio, structlog and the rest of ``p2p``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from p2p.address import canonical_address, host_of
from p2p.banlist import BanList
from p2p.discourage import DiscouragedHosts
from p2p.errors import BANNED, EXTRA_OUTBOUND, NETWORK_OFF, InvalidAddress
from p2p.outbound import OutboundUpkeep
from p2p.peer import Peer
from p2p.peertable import PeerTable
from p2p.settings import ConnectionConfig

MIN_CONNECT_TIME = 30.0  # Core's MINIMUM_CONNECT_TIME: a peer younger than this is not evicted


class ConnectionControls:
    config: ConnectionConfig
    _table: PeerTable
    _outbound: OutboundUpkeep
    _active: asyncio.Event  # set while network activity is on
    banned: BanList
    discouraged: DiscouragedHosts
    log: Any

    @property
    def network_active(self) -> bool:
        return self._active.is_set()

    async def set_network_active(self, active: bool) -> int:
        """Core's ``setnetworkactive``. Off: every connection is closed and none is made or
        accepted (dials, ``connect()``, inbound) until it is on again; on: the configured peers
        and the automatic slots are dialled again at once. Returns the connections closed."""
        if active == self._active.is_set():
            return 0
        closed = 0
        if active:
            self._active.set()
        else:
            self._active.clear()
            live = list(self._table.live)
            async with asyncio.TaskGroup() as closing:  # each close is bounded by its timeout
                for peer in live:
                    closing.create_task(peer.aclose(NETWORK_OFF))
            closed = len(live)
        self.log.info("network_active", active=active, closed=closed)
        return closed

    async def disconnect(self, address: str) -> bool:
        """Close every connection to ``address``; False if there was none."""
        try:
            address = canonical_address(address)
        except InvalidAddress:
            return False
        targets = self._table.at(address)
        for peer in targets:
            await peer.aclose()
        return bool(targets)

    async def disconnect_banned(self) -> int:
        """Close every connection the ban list now covers; how many."""
        targets = [peer for peer in self._table.live if self.banned.is_banned(peer.address)]
        for peer in targets:
            await peer.aclose(BANNED)
        return len(targets)

    def discourage(self, address: str, reason: str = "") -> None:
        self.discouraged.discourage(address)
        self.log.warning("peer_discouraged", host=host_of(address), reason=reason)

    def is_discouraged(self, address: str) -> bool:
        return self.discouraged.is_discouraged(address)

    @property
    def extra_outbound(self) -> bool:
        return self._outbound.extra > 0

    def try_extra_outbound(self, wanted: bool) -> None:
        """Core's ``SetTryNewOutboundPeer``: while the tip looks stale, one automatic outbound
        slot beyond ``max_outbound``, dialled at once; when it no longer does, the slot goes
        (the extra peer stays until :meth:`evict_extra_outbound` picks one to close)."""
        extra = 1 if wanted else 0
        if extra != self._outbound.extra:
            self._outbound.extra = extra
            if wanted:
                self._outbound.slot_freed.set()

    def automatic_outbound_peers(self) -> list[Peer]:
        """The connected outbound peers that are neither configured (``--peer``) nor inbound."""
        return [p for p, configured in self._table.live.items() if not (p.inbound or configured)]

    def evict_extra_outbound(self, now: float) -> Peer | None:
        """Core's ``EvictExtraOutboundPeers``: with more automatic outbound peers than the slots
        allow, close the one whose last block came longest ago (one that never sent a block
        first; the youngest on a tie), among those connected for ``MIN_CONNECT_TIME``."""
        automatic = self.automatic_outbound_peers()
        if len(automatic) <= self.config.max_outbound + self._outbound.extra:
            return None
        settled = [p for p in automatic if now - p.stats.connected_at >= MIN_CONNECT_TIME]
        if not settled:
            return None
        victim = min(settled, key=lambda p: (p.stats.last_block_at or 0.0, -p.stats.connected_at))
        self.log.info("extra_outbound_evicted", peer=victim.address)
        victim.close(EXTRA_OUTBOUND)
        return victim
