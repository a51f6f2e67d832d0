"""The connection manager: accepts peers on ``/p2p``, dials out, keeps configured peers
connected, discourages misbehaving addresses, and relays the peers' messages upward.

May import ``consensus`` (params), asyncio, aiohttp, structlog and the rest of ``p2p``.

Everything it starts (the peers' ``run()``, the dialers, the address-book upkeep) is a task of
the one TaskGroup inside ``run()``; inbound WebSocket handlers only wait for their peer's task.
It is the handler of its peers: it keeps its books, answers ``getaddr`` and learns ``addr``
itself, then hands every message to the node's ``PeerHandler``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import secrets
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

import aiohttp
import structlog
from aiohttp import web

from consensus.params import ChainParams
from p2p.addrbook import AddressBook
from p2p.address import canonical_address, format_address, parse_address
from p2p.addrgossip import AddrGossip
from p2p.banlist import BanList, Whitelist
from p2p.codec import WS_MAX_MSG_SIZE
from p2p.controls import ConnectionControls
from p2p.discourage import DiscouragedHosts
from p2p.errors import (
    EVICTED,
    NETWORK_OFF,
    SHUTDOWN,
    ConnectFailed,
    ConnectionLimit,
    DisconnectReason,
)
from p2p.handler import PeerHandler, WebSocket
from p2p.handshake import LocalNode
from p2p.messages import InvItem, Message
from p2p.outbound import OutboundUpkeep
from p2p.peer import Peer
from p2p.peertable import PeerTable, eviction_candidate, refusal
from p2p.relay import Exclude, announce_to, broadcast_to
from p2p.settings import ConnectionConfig

P2P_PATH = "/p2p"


class ConnectionManager(ConnectionControls):
    def __init__(
        self,
        params: ChainParams,
        handler: PeerHandler,
        config: ConnectionConfig | None = None,
        *,
        addrbook: AddressBook | None = None,
        best_height: Callable[[], int] = lambda: 0,
        clock: Callable[[], float] = time.time,
        message_observer: Callable[[str, str, int], None] | None = None,
        on_eviction: Callable[[], None] | None = None,
        banlist: BanList | None = None,
    ) -> None:
        self.params = params
        self.config = config = config or ConnectionConfig()
        self.addrbook = addrbook
        self.discouraged = DiscouragedHosts(config.discourage_seconds, clock=clock)
        self.banned = banlist if banlist is not None else BanList(None, clock=clock)
        self.whitelist = Whitelist(config.whitelist)
        self.log = structlog.get_logger("p2p.connmgr")
        self._handler = handler
        self._message_observer = message_observer
        self._on_eviction = on_eviction  # the node's metrics count inbound evictions
        self._local = LocalNode(params, config.services, config.user_agent,
                                config.advertise_address, best_height)
        self._configured = tuple(canonical_address(a) for a in config.peers)
        self._rng = random.Random()
        self._netgroup_key = secrets.token_bytes(16)  # eviction's group ranking, unguessable
        self._table = PeerTable()
        self._gossip = AddrGossip(addrbook) if addrbook is not None else None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._tg: asyncio.TaskGroup | None = None
        self._session: aiohttp.ClientSession | None = None
        self._port: int | None = None
        self._run_started = False
        self._stopping = False
        self._start_error: BaseException | None = None
        self._started = asyncio.Event()
        self._start_settled = asyncio.Event()  # started, or failed to
        self._stop = asyncio.Event()
        self._stopped = asyncio.Event()
        self._active = asyncio.Event()  # set while network activity is on
        if config.network_active:
            self._active.set()
        self._outbound = OutboundUpkeep(
            config, self._table, self._configured, self._active, dial=self._dial_for_upkeep,
            spawn=self._spawn, admissible=self._admissible, log=self.log, rng=self._rng,
        )  # fmt: skip
        self._context_task: asyncio.Task[None] | None = None

    # --- lifecycle ----------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The port the listener is bound to (after start-up)."""
        if self._port is None:
            raise RuntimeError("not listening")
        return self._port

    async def wait_started(self) -> None:
        """Return once listening and running; raise if ``run()`` failed to start."""
        await self._start_settled.wait()
        if not self._started.is_set():
            raise RuntimeError("connection manager failed to start") from self._start_error

    async def run(self) -> None:
        """Serve until ``aclose()`` is called or the task is cancelled."""
        if self._run_started:
            raise RuntimeError("ConnectionManager.run() called twice")
        self._run_started = True
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.config.connect_timeout)
        try:
            async with contextlib.AsyncExitStack() as stack:
                session = aiohttp.ClientSession(timeout=timeout)
                self._session = await stack.enter_async_context(session)
                runner = web.AppRunner(self._make_app(), handle_signals=False,
                                       access_log=None, shutdown_timeout=1.0)
                await runner.setup()
                stack.push_async_callback(runner.cleanup)
                await self._listen(runner)
                async with asyncio.TaskGroup() as tg:
                    self._tg = tg
                    self._start_background()
                    self._started.set()
                    self._start_settled.set()
                    self.log.info("p2p_started", port=self._port,
                                  configured_peers=len(self._configured))
                    try:
                        await self._stop.wait()
                    finally:
                        self._shutdown_tasks()
        except BaseException as exc:
            self._start_error = exc
            raise
        finally:
            self._shutdown_tasks()
            self._tg = None
            if self._gossip is not None:
                self._gossip.save_now()
            self._stopped.set()
            self._start_settled.set()
            self.log.info("p2p_stopped")

    async def aclose(self) -> None:
        """Close every peer and stop (idempotent)."""
        self._stop.set()
        task = self._context_task
        if task is not None:
            await asyncio.wait([task])
            if not task.cancelled():
                task.exception()  # retrieved here; wait_started() reports start-up failures
        elif self._run_started:
            await self._stopped.wait()

    async def __aenter__(self) -> ConnectionManager:
        self._context_task = asyncio.create_task(self.run())
        try:
            await self.wait_started()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- public API ---------------------------------------------------------------------
    @property
    def stopping(self) -> bool:
        return self._stopping

    def peers(self) -> list[Peer]:
        """Peers whose handshake is done, in connection order."""
        return self._table.handshaken()

    @property
    def outbound_count(self) -> int:
        return self._table.outbound_count

    @property
    def inbound_count(self) -> int:
        return self._table.inbound_count

    async def connect(self, address: str) -> Peer:
        """Dial ``address`` and complete the handshake. Raises ``ConnectionLimit`` without a
        free outbound slot, ``ConnectFailed`` or the handshake's ``P2PError`` otherwise."""
        address = canonical_address(address)
        if self._table.automatic_outbound() >= self.config.max_outbound:
            raise ConnectionLimit(f"{self.config.max_outbound} outbound peers already")
        return await self._dial(address, configured=False)

    async def broadcast(self, message: Message, exclude: Exclude = ()) -> int:
        """Send ``message`` to every connected peer but ``exclude``; returns how many took
        it (see ``p2p.relay``)."""
        return await broadcast_to(self.peers(), message, exclude)

    async def announce(self, items: Iterable[InvItem], exclude: Exclude = ()) -> int:
        """Announce ``items`` to every connected peer not known to have them, never to
        ``exclude``; returns how many peers got at least one item."""
        return await announce_to(self.peers(), items, exclude)

    # --- PeerHandler: the peers report here first ---------------------------------------
    async def on_peer_connected(self, peer: Peer) -> None:
        self._table.connected[peer] = None
        if self._gossip is not None:
            await self._gossip.peer_connected(peer)
        await self._handler.on_peer_connected(peer)

    async def on_message(self, peer: Peer, message: Message) -> None:
        if self._gossip is not None:
            await self._gossip.on_message(peer, message)
        await self._handler.on_message(peer, message)

    async def on_peer_disconnected(self, peer: Peer, reason: DisconnectReason) -> None:
        self._table.connected.pop(peer, None)
        await self._handler.on_peer_disconnected(peer, reason)

    # --- inbound ------------------------------------------------------------------------
    def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=1024)
        app.router.add_get(P2P_PATH, self._accept)
        return app

    async def _listen(self, runner: web.AppRunner) -> None:
        if not self.config.listen:
            return
        port = self.config.bind_port
        port = self.params.p2p_port if port is None else port
        site = web.TCPSite(runner, self.config.bind_host, port, reuse_address=True)
        await site.start()
        self._port = runner.addresses[0][1]

    async def _accept(self, request: web.Request) -> web.StreamResponse:
        peername: Any = None
        if request.transport is not None:
            peername = request.transport.get_extra_info("peername")
        try:
            address = canonical_address(format_address(str(peername[0]), int(peername[1])))
        except (TypeError, IndexError, ValueError):  # InvalidAddress is a ValueError
            return web.Response(status=400)
        if self._stopping or self._tg is None:
            return web.Response(status=503, text="shutting down")
        if not self._active.is_set():
            return web.Response(status=503, text=NETWORK_OFF.detail)
        why = refusal(address, self.discouraged, self.banned, self.whitelist)
        if why is not None:
            self.log.info("inbound_refused", peer=address, why=why)
            return web.Response(status=403, text=why)
        table = self._table
        if table.inbound_count + table.accepting >= self.config.max_inbound:
            victim = eviction_candidate(table, self._netgroup_rank, self.whitelist)
            if victim is None:
                self.log.info("inbound_refused", peer=address, why="full")
                return web.Response(status=503, text="no free inbound slot")
            self.log.info("inbound_evicted", peer=victim.address, for_peer=address)
            victim.close(EVICTED)
            if self._on_eviction is not None:
                self._on_eviction()
        ws = web.WebSocketResponse(max_msg_size=WS_MAX_MSG_SIZE, compress=False,
                                   autoping=True, heartbeat=None,
                                   timeout=self.config.peer.close_timeout)
        table.accepting += 1  # holds the slot while the upgrade is answered
        try:
            async with asyncio.timeout(self.config.peer.handshake_timeout):
                await ws.prepare(request)
            peer = self._new_peer(ws, address, inbound=True, configured=False)
        finally:
            table.accepting -= 1
        task = await self._start_peer(peer)
        if task is not None:
            await asyncio.wait([task])
        return ws

    def _netgroup_rank(self, group: bytes) -> int:
        digest = hashlib.blake2b(group, key=self._netgroup_key, digest_size=8).digest()
        return int.from_bytes(digest, "big")

    # --- outbound -----------------------------------------------------------------------
    async def _dial(self, address: str, *, configured: bool) -> Peer:
        if self._stopping or self._session is None:
            raise ConnectionLimit("shutting down")
        if not self._active.is_set():
            raise ConnectionLimit("network activity is off")
        dialing = self._table.dialing
        if address in dialing:
            raise ConnectionLimit(f"already dialling {address}")
        host, port = parse_address(address)
        dialing.add(address)
        try:
            if self.addrbook is not None:
                self.addrbook.mark_attempt(address)
            url = f"http://{format_address(host, port)}{P2P_PATH}"
            try:
                async with asyncio.timeout(self.config.connect_timeout):
                    ws = await self._session.ws_connect(
                        url, max_msg_size=WS_MAX_MSG_SIZE, compress=0, autoping=True,
                        heartbeat=None,
                        timeout=aiohttp.ClientWSTimeout(ws_close=self.config.peer.close_timeout),
                    )
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                raise ConnectFailed(f"{address}: {exc!r}") from None
            peer = self._new_peer(ws, address, inbound=False, configured=configured)
            if await self._start_peer(peer) is None:
                raise ConnectionLimit("shutting down")
        finally:
            dialing.discard(address)
        await peer.wait_ready()
        return peer

    async def _dial_for_upkeep(self, address: str, configured: bool) -> Peer:
        return await self._dial(address, configured=configured)

    def _admissible(self, address: str) -> bool:
        return refusal(address, self.discouraged, self.banned, self.whitelist) is None

    # --- peers --------------------------------------------------------------------------
    def _new_peer(self, ws: WebSocket, address: str, *, inbound: bool, configured: bool
                  ) -> Peer:
        peer = Peer(ws, address=address, inbound=inbound, local=self._local, handler=self,
                    settings=self.config.peer, is_own_nonce=self._table.nonces.__contains__,
                    on_close=self._on_peer_closing)
        peer.stats.observer = self._message_observer
        self._table.add(peer, configured=configured)
        return peer

    async def _start_peer(self, peer: Peer) -> asyncio.Task[None] | None:
        if self._stopping:
            reason = SHUTDOWN
        elif not self._active.is_set():  # turned off while this one was connecting
            reason = NETWORK_OFF
        else:
            try:
                return self._spawn(self._run_peer(peer))
            except ConnectionLimit:  # shutting down
                reason = SHUTDOWN
        self._forget(peer)
        await peer.aclose(reason)
        return None

    async def _run_peer(self, peer: Peer) -> None:
        try:
            reason = await peer.run()
        finally:
            self._forget(peer)
        if reason.code == "self_connection" and not peer.inbound and self.addrbook:
            self.addrbook.remove(peer.address)

    def _forget(self, peer: Peer) -> None:
        self._table.forget(peer)
        if self._gossip is not None:
            self._gossip.peer_gone(peer)
        self._outbound.slot_freed.set()

    def _on_peer_closing(self, peer: Peer, reason: DisconnectReason) -> None:
        # Called the moment the reason is known, before the socket closes, so a misbehaving
        # peer cannot reconnect in between.
        if reason.discourage and peer.address not in self.whitelist:  # noban: closed only
            self.discourage(peer.address, str(reason))

    # --- tasks --------------------------------------------------------------------------
    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        try:
            if self._tg is None or self._stopping:
                raise RuntimeError("not running")
            task = self._tg.create_task(work)
        except RuntimeError:  # also: the TaskGroup is shutting down
            work.close()
            raise ConnectionLimit("shutting down") from None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _start_background(self) -> None:
        for address in self._configured:
            self._spawn(self._outbound.keep_connected(address))
        if self._gossip is not None:
            if self.config.dial_from_addrbook:
                self._spawn(self._outbound.maintain(self._gossip.book))
            self._spawn(self._gossip.save_periodically(self.config.addrbook_save_interval))

    def _shutdown_tasks(self) -> None:
        self._stopping = True
        for peer in list(self._table.live):
            peer.close(SHUTDOWN)
        for task in list(self._tasks):
            task.cancel()
