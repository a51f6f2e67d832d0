"""One peer over an aiohttp WebSocket (inbound or outbound): handshake, then read, write and
ping loops owned by a TaskGroup inside ``Peer.run()``.

May import ``consensus`` (params), asyncio, aiohttp, structlog and the rest of ``p2p``.

Every message received after the handshake is handed to a ``PeerHandler`` and the reader
awaits it before reading the next frame (backpressure). Outgoing frames go through a bounded
send queue; a producer waits for room, and a peer whose queue stays full past
``send_timeout`` is disconnected. Misbehaviour (malformed frames, unknown commands, frames
over the limit, ``Misbehaving`` raised by the handler) closes this peer only and reports a
``DisconnectReason`` saying whether to discourage its address.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

import aiohttp
import structlog
from aiohttp import WebSocketError, WSCloseCode, WSMsgType

from p2p.codec import decode_frame, encode_frame
from p2p.errors import (
    LOCAL_CLOSE,
    SHUTDOWN,
    DisconnectReason,
    FrameTooLarge,
    HandshakeTimeout,
    MalformedMessage,
    Misbehaving,
    P2PError,
    PeerDisconnected,
    PeerTimeout,
)
from p2p.handler import PeerHandler, WebSocket
from p2p.handshake import LocalNode, check_version, make_version
from p2p.inventory import KnownInventory, batch_inventory
from p2p.messages import (
    BlockMessage,
    Headers,
    Inv,
    InvItem,
    Message,
    Ping,
    Pong,
    TxMessage,
    Verack,
    Version,
)
from p2p.sendqueue import SendQueue
from p2p.settings import PeerSettings
from p2p.stats import PeerStats


class Peer:
    """A connection to one remote node. Run it with ``await peer.run()`` inside a TaskGroup."""

    def __init__(
        self,
        ws: WebSocket,
        *,
        address: str,
        inbound: bool,
        local: LocalNode,
        handler: PeerHandler,
        settings: PeerSettings | None = None,
        nonce: int | None = None,
        is_own_nonce: Callable[[int], bool] | None = None,
        on_close: Callable[[Peer, DisconnectReason], None] | None = None,
    ) -> None:
        self.address = address
        self.inbound = inbound
        self.local = local
        self.settings = settings or PeerSettings()
        self.nonce = nonce if nonce is not None else secrets.randbits(64)
        self._is_own_nonce = is_own_nonce or (lambda n: n == self.nonce)
        self._ws = ws
        self._handler = handler
        self._on_close = on_close
        self.stats = PeerStats()
        self.known_inventory = KnownInventory(self.settings.known_inventory)
        self.remote_version: Version | None = None
        self.log = structlog.get_logger("p2p.peer").bind(
            peer=address, direction="in" if inbound else "out"
        )
        self._queue = SendQueue(
            self.settings.max_send_queue_bytes, self.settings.max_send_queue_frames
        )
        self._closing = asyncio.Event()
        self._ready = asyncio.Event()
        self._done = asyncio.Event()
        self._settled = asyncio.Event()  # ready or done, whichever comes first
        self._reason: DisconnectReason | None = None
        self._error: P2PError | None = None
        self._started = False
        self._handler_knows = False  # on_peer_connected was called: on_peer_disconnected is due
        self._pings: dict[int, tuple[float, asyncio.Future[float]]] = {}

    # --- state --------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """The handshake is done and the connection is not closing."""
        return self._ready.is_set() and not self._closing.is_set()

    @property
    def closing(self) -> bool:
        """The connection is going, or gone."""
        return self._closing.is_set()

    @property
    def disconnect_reason(self) -> DisconnectReason | None:
        return self._reason

    @property
    def latency(self) -> float | None:
        return self.stats.latency

    def __repr__(self) -> str:
        return f"Peer({self.address}, {'in' if self.inbound else 'out'})"

    # --- running ------------------------------------------------------------------------
    async def run(self) -> DisconnectReason:
        """Handshake, then serve until the connection ends; returns why it ended.

        Never raises except ``CancelledError`` (the reason is then ``shutdown``).
        """
        if self._started:
            raise RuntimeError("Peer.run() called twice")
        self._started = True
        try:
            await self._until_closed(("handshake", self._handshake()))
            if not self._closing.is_set():
                await self._until_closed(
                    ("reader", self._read_loop()),
                    ("writer", self._write_loop()),
                    ("pinger", self._ping_loop()),
                )
        finally:
            self._shut(SHUTDOWN)
            await self._close_socket()
            for _, future in self._pings.values():
                if not future.done():
                    future.set_exception(PeerDisconnected(str(self._reason)))
            self._done.set()
            self._settled.set()
            reason = self._reason or SHUTDOWN
            log = self.log.warning if reason.discourage else self.log.info
            log("peer_disconnected", reason=reason.code, detail=reason.detail,
                discourage=reason.discourage, **self.stats.summary())
            if self._handler_knows:
                await self._notify_disconnected(reason)
        return reason

    async def wait_ready(self) -> None:
        """Return once the handshake is done and the handler has been told
        (``on_peer_connected`` returned); raise the error that ended the peer otherwise."""
        await self._settled.wait()
        if not self._ready.is_set():
            if self._error is not None:
                raise self._error
            raise PeerDisconnected(str(self._reason))

    async def wait_closed(self) -> DisconnectReason:
        await self._done.wait()
        return self._reason or SHUTDOWN

    def close(self, reason: DisconnectReason | P2PError | None = None) -> None:
        """Ask the connection to close (the first reason given wins). Does not wait."""
        if isinstance(reason, P2PError):
            if self._reason is None:
                self._error = reason  # wait_ready() re-raises the error that ended the peer
            reason = DisconnectReason.from_error(reason)
        self._shut(reason or LOCAL_CLOSE)

    async def aclose(self, reason: DisconnectReason | P2PError | None = None) -> None:
        """Close and wait until ``run()`` has finished (idempotent)."""
        self.close(reason)
        if self._started:
            await self._done.wait()
        else:
            await self._close_socket()
            self._done.set()

    # --- sending ------------------------------------------------------------------------
    async def send(self, message: Message, *, frame: bytes | None = None) -> None:
        """Queue ``message``; waits for room in the send queue (``PeerTimeout`` past
        ``send_timeout``, which also disconnects the peer; ``PeerDisconnected`` if closed).
        ``frame`` is the message already encoded (a broadcast encodes once)."""
        if frame is None:
            frame = encode_frame(message)
        if self.try_send(message, frame=frame):
            return
        self._note_inventory(message)
        try:
            async with asyncio.timeout(self.settings.send_timeout):
                await self._queue.put(frame, message.command)
        except TimeoutError:
            error = PeerTimeout(f"send queue full for {self.settings.send_timeout}s")
            self.close(error)
            raise error from None

    def try_send(self, message: Message, *, frame: bytes | None = None) -> bool:
        """Queue ``message`` if the send queue has room now; False if it is full.
        Raises ``PeerDisconnected`` if the connection is closing."""
        if self._closing.is_set():
            raise PeerDisconnected(f"{self.address} is closing")
        if frame is None:
            frame = encode_frame(message)
        if not self._queue.try_put(frame, message.command):
            return False
        self._note_inventory(message)
        return True

    async def announce(self, items: Iterable[InvItem]) -> int:
        """Send ``inv`` for the items this peer is not known to have; returns how many."""
        new = self.known_inventory.filter_new(items)
        for inv in batch_inventory(new):
            await self.send(inv)
        return len(new)

    async def ping(self, deadline: float | None = None) -> float:
        """Round trip a ping; returns the latency in seconds. A missing pong past the deadline
        disconnects the peer (``PeerTimeout``)."""
        loop = asyncio.get_running_loop()
        nonce = secrets.randbits(64)
        future: asyncio.Future[float] = loop.create_future()
        self._pings[nonce] = (time.monotonic(), future)
        try:
            await self.send(Ping(nonce))
            async with asyncio.timeout(deadline or self.settings.pong_timeout):
                return await future
        except TimeoutError:
            error = PeerTimeout("no pong before the deadline")
            self.close(error)
            raise error from None
        finally:
            self._pings.pop(nonce, None)

    # --- the loops ----------------------------------------------------------------------
    async def _handshake(self) -> None:
        try:
            async with asyncio.timeout(self.settings.handshake_timeout):
                await self._write(encode_frame(make_version(self.local, self.nonce)), "version")
                message = await self._read_message()
                if not isinstance(message, Version):
                    raise Misbehaving(f"expected version, got {message.command}")
                check_version(message, self.local.params, self._is_own_nonce)
                self.remote_version = message
                await self._write(encode_frame(Verack()), "verack")
                message = await self._read_message()
                if not isinstance(message, Verack):
                    raise Misbehaving(f"expected verack, got {message.command}")
        except TimeoutError:
            raise HandshakeTimeout(
                f"no handshake within {self.settings.handshake_timeout}s"
            ) from None

    async def _read_loop(self) -> None:
        # The writer already runs, so on_peer_connected may send; the handshake counts as
        # done (wait_ready returns) once the handler has been told.
        self._handler_knows = True
        await self._handler.on_peer_connected(self)
        self._ready.set()
        self._settled.set()
        self.log.info("peer_connected", user_agent=self.remote_version_user_agent)
        while True:
            message = await self._read_message(self.settings.idle_timeout)
            if isinstance(message, (Version, Verack)):
                raise Misbehaving(f"{message.command} after the handshake")
            if isinstance(message, Ping):
                await self.send(Pong(message.nonce))
            elif isinstance(message, Pong):
                self._on_pong(message.nonce)
            else:
                self._note_inventory(message)
            await self._handler.on_message(self, message)

    async def _write_loop(self) -> None:
        while True:
            frame, command = await self._queue.get()
            await self._write(frame, command)

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.ping_interval)
            await self.ping()

    # --- frames -------------------------------------------------------------------------
    async def _write(self, frame: bytes, command: str) -> None:
        try:
            async with asyncio.timeout(self.settings.write_timeout):
                await self._ws.send_bytes(frame)
        except TimeoutError:
            raise PeerTimeout(f"writing a {command} frame took over "
                              f"{self.settings.write_timeout}s") from None
        except ConnectionError as exc:
            raise PeerDisconnected(f"write failed: {exc}") from None
        self.stats.sent(command, len(frame))

    async def _read_message(self, idle_limit: float | None = None) -> Message:
        try:
            async with asyncio.timeout(idle_limit):
                data = await self._receive_frame()
        except TimeoutError:
            raise PeerTimeout(f"nothing received for {idle_limit}s") from None
        message = decode_frame(data, self.local.params)
        self.stats.received(message.command, len(data))
        return message

    async def _receive_frame(self) -> bytes:
        while True:
            frame = await self._ws.receive()
            if frame.type is WSMsgType.BINARY:
                data: bytes = frame.data
                return data
            if frame.type is WSMsgType.TEXT:
                raise MalformedMessage("text frame (messages are binary frames)")
            if frame.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                raise PeerDisconnected("closed by the remote end")
            if frame.type is WSMsgType.ERROR:
                error = frame.data
                if isinstance(error, WebSocketError):
                    if error.code == WSCloseCode.MESSAGE_TOO_BIG:
                        raise FrameTooLarge(str(error))
                    raise MalformedMessage(f"websocket protocol error: {error}")
                raise PeerDisconnected(f"connection error: {error!r}")
            # PING / PONG control frames are answered by aiohttp (autoping); skip anything else.

    # --- helpers ------------------------------------------------------------------------
    async def _until_closed(self, *works: tuple[str, Coroutine[Any, Any, None]]) -> None:
        """Run ``works`` (each behind the per-peer boundary) until one of them ends or the
        peer is asked to close; then cancel the rest."""
        async with asyncio.TaskGroup() as tg:
            tasks: list[asyncio.Task[Any]] = [
                tg.create_task(self._guard(work, name)) for name, work in works
            ]
            tasks.append(tg.create_task(self._closing.wait()))
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()

    async def _guard(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """The per-peer boundary: any failure closes this peer and nothing else."""
        try:
            await work
        except P2PError as error:
            self.close(error)
        except Exception as exc:
            self.log.exception("peer_task_failed", task=name)
            self.close(DisconnectReason("internal_error", f"{type(exc).__name__}: {exc}"))

    def _shut(self, reason: DisconnectReason) -> None:
        if self._reason is None:
            self._reason = reason
            if self._on_close is not None:
                try:
                    self._on_close(self, reason)
                except Exception:
                    self.log.exception("on_close_failed")
        self._closing.set()
        self._queue.close()

    async def _close_socket(self) -> None:
        reason = self._reason or SHUTDOWN
        if reason.discourage:
            code = WSCloseCode.POLICY_VIOLATION
        elif reason.code == "shutdown":
            code = WSCloseCode.GOING_AWAY
        else:
            code = WSCloseCode.OK
        try:
            async with asyncio.timeout(self.settings.close_timeout):
                await self._ws.close(code=code, message=reason.code.encode()[:120])
        except (TimeoutError, ConnectionError, aiohttp.ClientError, RuntimeError) as exc:
            self.log.debug("close_failed", error=repr(exc))

    async def _notify_disconnected(self, reason: DisconnectReason) -> None:
        try:
            await self._handler.on_peer_disconnected(self, reason)
        except Exception:
            self.log.exception("on_peer_disconnected_failed")

    @property
    def remote_version_user_agent(self) -> str:
        return self.remote_version.user_agent if self.remote_version else ""

    def _on_pong(self, nonce: int) -> None:
        entry = self._pings.pop(nonce, None)
        if entry is None:
            return  # unsolicited or late: ignored, as Bitcoin Core does
        sent_at, future = entry
        latency = time.monotonic() - sent_at
        self.stats.record_latency(latency)
        if not future.done():
            future.set_result(latency)

    def _note_inventory(self, message: Message) -> None:
        """Remember what the peer has: what it announced or sent us, and what we sent it."""
        known = self.known_inventory
        if isinstance(message, TxMessage):
            known.add(message.transaction.txid)
        elif isinstance(message, BlockMessage):
            known.add(message.block.hash)
        elif isinstance(message, Headers):
            known.update(header.hash for header in message.headers)
        elif isinstance(message, Inv):
            known.update(item.hash for item in message.items)
