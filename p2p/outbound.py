"""Keeping the outbound slots filled: configured peers redialled with exponential backoff,
and the automatic slots topped up from the address book.

May import asyncio, the standard library and the rest of ``p2p``. The connection
manager owns one ``OutboundUpkeep`` and runs its loops as tasks of its TaskGroup; it hands
over how to dial (``dial``), how to start a background task (``spawn``), its peer books and
whether an address may be dialled at all. ``slot_freed`` is set by the manager whenever a
peer goes, so a free slot is filled at once rather than at the next interval.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from p2p.addrbook import AddressBook
from p2p.backoff import Backoff
from p2p.errors import ConnectionLimit, P2PError
from p2p.peer import Peer
from p2p.peertable import PeerTable
from p2p.settings import ConnectionConfig

Dial = Callable[[str, bool], Awaitable[Peer]]  # (address, configured) -> a ready peer
Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]


class OutboundUpkeep:
    def __init__(
        self,
        config: ConnectionConfig,
        table: PeerTable,
        configured: tuple[str, ...],
        active: asyncio.Event,
        *,
        dial: Dial,
        spawn: Spawn,
        admissible: Callable[[str], bool],
        log: Any,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.table = table
        self.configured = configured
        self.active = active  # network activity on (Core's setnetworkactive); else no dials
        self.dial = dial
        self.spawn = spawn
        self.admissible = admissible
        self.log = log
        self.rng = rng or random.Random()
        self.slot_freed = asyncio.Event()
        self.extra = 0  # automatic slots beyond max_outbound: a stale tip's extra peer

    async def keep_connected(self, address: str) -> None:
        """Keep a configured peer connected, redialling with exponential backoff."""
        backoff = Backoff(self.config.retry_initial, self.config.retry_max, self.rng)
        while True:
            await self.active.wait()
            existing = self.table.outbound_to(address)
            if existing is not None:  # e.g. dialled by connect() already
                await existing.wait_closed()
            else:
                peer = await self.dial_quietly(address, configured=True)
                if peer is not None:
                    backoff.reset()
                    await peer.wait_closed()
            if self.active.is_set():  # after activity is back on, redial at once
                await asyncio.sleep(backoff.next_delay())

    async def maintain(self, book: AddressBook) -> None:
        """Top up the automatic outbound slots from the address book."""
        while True:
            await self.active.wait()
            free = self.config.max_outbound + self.extra - self.table.automatic_outbound()
            if free > 0:
                busy = self.table.busy_addresses()
                busy.update(self.configured)
                candidates = [a for a in book.select(free * 2, busy) if self.admissible(a)]
                try:
                    for address in candidates[:free]:
                        self.spawn(self._dial_in_background(address))
                except ConnectionLimit:  # shutting down
                    return
            self.slot_freed.clear()
            try:
                async with asyncio.timeout(self.config.outbound_interval):
                    await self.slot_freed.wait()
            except TimeoutError:
                pass

    async def dial_quietly(self, address: str, *, configured: bool = False) -> Peer | None:
        """Dial for the background tasks: a failure is logged, never raised."""
        try:
            return await self.dial(address, configured)
        except P2PError as exc:
            self.log.info("dial_failed", peer=address, error=str(exc))
        except Exception:  # the per-peer boundary: a bug here must not stop the manager
            self.log.exception("dial_crashed", peer=address)
        return None

    async def _dial_in_background(self, address: str) -> None:
        await self.dial_quietly(address)
