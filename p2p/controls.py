"""The operator's controls on a ``p2p.connmgr.ConnectionManager`` (Core's ``disconnectnode``,
``setban``'s disconnections, discouragement, ``setnetworkactive``), kept apart from the
manager's connection machinery. A mixin: ``ConnectionManager`` provides the state named below.

May import asyncio, structlog and the rest of ``p2p``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from p2p.address import canonical_address, host_of
from p2p.banlist import BanList
from p2p.discourage import DiscouragedHosts
from p2p.errors import BANNED, NETWORK_OFF, InvalidAddress
from p2p.peertable import PeerTable


class ConnectionControls:
    _table: PeerTable
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
