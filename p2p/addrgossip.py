"""Address gossip: the connection manager's use of the address book.

May import asyncio, structlog and the rest of ``p2p``. Asks outbound peers for addresses once
(``getaddr``), answers each inbound peer's ``getaddr`` once with at most 1,000 entries, learns
``addr`` entries through a per-peer token bucket, records handshakes, and saves the book
periodically and at shutdown.
"""

from __future__ import annotations

import asyncio

import structlog

from p2p.addrbook import AddressBook, AddrRateLimiter
from p2p.address import format_address, host_of, parse_address
from p2p.errors import InvalidAddress
from p2p.messages import MAX_ADDR_ENTRIES, Addr, GetAddr, Message
from p2p.peer import Peer

log = structlog.get_logger("p2p.addrgossip")


class AddrGossip:
    def __init__(self, book: AddressBook) -> None:
        self.book = book
        self._limits: dict[Peer, AddrRateLimiter] = {}
        self._answered: set[Peer] = set()

    async def peer_connected(self, peer: Peer) -> None:
        limiter = self._limits[peer] = AddrRateLimiter()
        version = peer.remote_version
        services = version.services if version else 0
        if not peer.inbound:
            self.book.mark_success(peer.address, services)
            limiter.grant(MAX_ADDR_ENTRIES)  # the answer to our getaddr may be a full one
            await peer.send(GetAddr())
        elif version is not None and version.listen_address:
            # An inbound peer listens on the host it came from, at the port it announced.
            try:
                port = parse_address(version.listen_address).port
            except InvalidAddress:
                return
            self.book.add(format_address(host_of(peer.address), port), services)

    async def on_message(self, peer: Peer, message: Message) -> None:
        if isinstance(message, GetAddr):
            await self._answer(peer)
        elif isinstance(message, Addr):
            self._learn(peer, message)

    def peer_gone(self, peer: Peer) -> None:
        self._limits.pop(peer, None)
        self._answered.discard(peer)

    async def save_periodically(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            if self.book.dirty:
                try:
                    await self.book.save_async()
                except OSError as exc:
                    log.warning("addrbook_save_failed", error=str(exc))

    def save_now(self) -> None:
        if self.book.dirty:
            try:
                self.book.save()
            except OSError as exc:
                log.warning("addrbook_save_failed", error=str(exc))

    async def _answer(self, peer: Peer) -> None:
        # Once per connection and only to inbound peers (as Bitcoin Core does), so a peer
        # cannot map the book by asking over and over, nor learn our outbound peers.
        if not peer.inbound or peer in self._answered:
            return
        self._answered.add(peer)
        entries = self.book.getaddr_answer(MAX_ADDR_ENTRIES)
        if entries:
            await peer.send(Addr(tuple(entries)))

    def _learn(self, peer: Peer, message: Addr) -> None:
        limiter = self._limits.get(peer)
        if limiter is None:
            return
        allowed = limiter.take(len(message.entries))
        learned = self.book.add_gossip(message.entries[:allowed])
        log.debug("addr_received", peer=peer.address, entries=len(message.entries),
                  processed=allowed, new=learned)
