"""A scripted P2P peer for functional tests (Bitcoin Core's ``P2PInterface``).

It opens the node's ``/p2p`` WebSocket with aiohttp, performs the version/verack handshake (or,
on purpose, does not), records every message it receives, calls ``on_<command>(message)`` for
each (override them in a subclass; they may be plain functions or coroutines), and sends
messages or raw frames of its own. Synchronise with ``sync_with_ping`` / ``send_and_ping``:
the node handles one peer's messages in order and awaits each before reading the next, so a
``pong`` proves that everything sent before the ``ping`` was processed.

``local_host`` picks the source address of the connection (any of 127.0.0.0/8 on Linux): the
node discourages misbehaving peers by IP, so each hostile scenario comes from its own address
and does not lock the others out.
"""

# The Bitcoin Core-style API takes explicit deadlines (``timeout=``) on purpose.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import inspect
import secrets
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp
from aiohttp import WSMsgType

from consensus.block import Block
from consensus.hashing import ZERO_HASH
from consensus.params import REGTEST, ChainParams
from p2p.codec import WS_MAX_MSG_SIZE, decode_frame, encode_frame
from p2p.handshake import LocalNode, make_version
from p2p.messages import (
    INV_BLOCK,
    BlockMessage,
    GetData,
    GetHeaders,
    Headers,
    Message,
    NotFound,
    Ping,
    Pong,
    Verack,
    Version,
)
from tests.framework.util import wait_until

P2P_PATH = "/p2p"
DEFAULT_TIMEOUT = 10.0


class P2PInterface:
    """One scripted connection to a node. Use ``await peer.connect(address)`` then the
    ``send_*`` and ``wait_for_*`` methods; ``await peer.close()`` at the end (the test fixture
    closes every peer it made)."""

    def __init__(
        self,
        params: ChainParams = REGTEST,
        *,
        local_host: str | None = None,
        user_agent: str = "/p2p-interface/",
        best_height: int = 0,
        auto_pong: bool = True,
    ) -> None:
        self.params = params
        self.local_host = local_host
        self.user_agent = user_agent
        self.best_height = best_height
        self.auto_pong = auto_pong
        self.nonce = secrets.randbits(64)
        self.messages: list[Message] = []
        self.message_count: Counter[str] = Counter()
        self.last_message: dict[str, Message] = {}
        self.remote_version: Version | None = None
        self.verack_received = False
        self.close_code: int | None = None
        self.close_reason: str = ""
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self._pongs: dict[int, asyncio.Future[None]] = {}
        self._received = asyncio.Event()
        self._waiters: defaultdict[str, list[Callable[[Message], None]]] = defaultdict(list)
        self.errors: list[BaseException] = []
        self._send_verack = True

    # --- connecting ---------------------------------------------------------------------------
    async def connect(
        self,
        address: str,
        *,
        send_version: bool = True,
        send_verack: bool = True,
        wait_for_verack: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> P2PInterface:
        """Open the WebSocket to ``address`` ("host:port"). By default do the whole handshake
        and return once the node's ``verack`` arrived. ``send_version=False`` sends nothing at
        all; ``send_verack=False`` stops after our ``version`` (a handshake never finished)."""
        connector = aiohttp.TCPConnector(
            local_addr=(self.local_host, 0) if self.local_host else None, force_close=True
        )
        self._session = aiohttp.ClientSession(connector=connector)
        self._send_verack = send_version and send_verack
        try:
            async with asyncio.timeout(timeout):
                self._ws = await self._session.ws_connect(
                    f"http://{address}{P2P_PATH}",
                    max_msg_size=WS_MAX_MSG_SIZE,
                    compress=0,
                    autoping=True,
                    heartbeat=None,
                )
        except BaseException:
            await self._session.close()
            raise
        self._reader = asyncio.create_task(self._read_loop(), name="p2p-interface-reader")
        if send_version:
            local = LocalNode(
                self.params, user_agent=self.user_agent, best_height=lambda: self.best_height
            )
            await self.send_message(make_version(local, self.nonce))
            if send_verack and wait_for_verack:
                await self.wait_until(lambda: self.verack_received, timeout)
        return self

    @property
    def is_connected(self) -> bool:
        return self._ws is not None and not self._closed.is_set()

    async def close(self) -> None:
        """Close our end (idempotent)."""
        if self._ws is not None and not self._ws.closed:
            with contextlib.suppress(aiohttp.ClientError, ConnectionError, RuntimeError):
                await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._session is not None:
            await self._session.close()
        self._closed.set()

    async def abort(self) -> None:
        """Drop the TCP connection without a WebSocket close frame (a crashed peer)."""
        if self._ws is not None:
            transport = self._ws._response.connection  # aiohttp keeps it while the socket is open
            if transport is not None and transport.transport is not None:
                transport.transport.abort()
        await self.close()

    # --- receiving ----------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        assert self._ws is not None
        try:
            while True:
                frame = await self._ws.receive()
                if frame.type is WSMsgType.BINARY:
                    message = decode_frame(frame.data, self.params)
                    await self._on_message(message)
                elif frame.type is WSMsgType.CLOSE:
                    self.close_reason = str(frame.extra or "")
                    break
                elif frame.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in a callback: keep it for the test to see
            self.errors.append(exc)
        finally:
            self.close_code = self._ws.close_code
            self._closed.set()
            for future in self._pongs.values():
                if not future.done():
                    future.set_exception(ConnectionError("disconnected"))

    async def _on_message(self, message: Message) -> None:
        command = message.command
        self.messages.append(message)
        self.message_count[command] += 1
        self.last_message[command] = message
        if isinstance(message, Version):
            self.remote_version = message
            if self._send_verack:
                await self.send_message(Verack())
        elif isinstance(message, Verack):
            self.verack_received = True
        elif isinstance(message, Ping) and self.auto_pong:
            await self.send_message(Pong(message.nonce))
        elif isinstance(message, Pong):
            future = self._pongs.pop(message.nonce, None)
            if future is not None and not future.done():
                future.set_result(None)
        callback = getattr(self, f"on_{command}", None)
        if callback is not None:
            result = callback(message)
            if inspect.isawaitable(result):
                await result
        for waiter in self._waiters.pop(command, []):
            waiter(message)
        event, self._received = self._received, asyncio.Event()
        event.set()

    # --- sending ------------------------------------------------------------------------------
    async def send_message(self, message: Message) -> None:
        await self.send_raw_frame(encode_frame(message))

    async def send_raw_frame(self, data: bytes) -> None:
        """Send ``data`` as one binary WebSocket frame, whatever it holds."""
        if self._ws is None:
            raise RuntimeError("not connected")
        await self._ws.send_bytes(data)

    async def sync_with_ping(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """A ping round trip: everything sent before it has been processed by the node."""
        nonce = secrets.randbits(64)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pongs[nonce] = future
        await self.send_message(Ping(nonce))
        async with asyncio.timeout(timeout):
            await future

    async def send_and_ping(self, message: Message, timeout: float = DEFAULT_TIMEOUT) -> None:
        await self.send_message(message)
        await self.sync_with_ping(timeout)

    # --- waiting ------------------------------------------------------------------------------
    async def wait_until(
        self, predicate: Callable[[], bool], timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        await wait_until(predicate, timeout, message=f"{self.user_agent}: condition")

    async def wait_for_disconnect(self, timeout: float = DEFAULT_TIMEOUT) -> int | None:
        """Wait until the node closed the connection; returns the WebSocket close code
        (1008 = policy violation: the node discouraged us; 1009 = frame too big)."""
        async with asyncio.timeout(timeout):
            await self._closed.wait()
        return self.close_code

    async def wait_for_message(
        self,
        command: str,
        predicate: Callable[[Any], bool] = lambda m: True,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        since: int = 0,
    ) -> Message:
        """The first message ``command`` (at index ``since`` or later in ``messages``) that
        satisfies ``predicate``; waits for it to arrive."""
        async with asyncio.timeout(timeout):
            while True:
                for message in self.messages[since:]:
                    if message.command == command and predicate(message):
                        return message
                if self._closed.is_set():
                    raise ConnectionError(f"disconnected while waiting for {command}")
                await self._received.wait()

    async def wait_for_block(self, block_hash: bytes, timeout: float = DEFAULT_TIMEOUT) -> Block:
        message = await self.wait_for_message(
            "block", lambda m: m.block.hash == block_hash, timeout
        )
        assert isinstance(message, BlockMessage)
        return message.block

    async def wait_for_headers(
        self, block_hash: bytes | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> Headers:
        """A ``headers`` message (holding ``block_hash`` if given)."""
        message = await self.wait_for_message(
            "headers",
            lambda m: block_hash is None or any(h.hash == block_hash for h in m.headers),
            timeout,
        )
        assert isinstance(message, Headers)
        return message

    async def wait_for_getdata(
        self, hashes: Sequence[bytes] | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> GetData:
        wanted = set(hashes or ())
        message = await self.wait_for_message(
            "getdata", lambda m: wanted <= {i.hash for i in m.items}, timeout
        )
        assert isinstance(message, GetData)
        return message

    async def wait_for_inv(self, hashes: Sequence[bytes], timeout: float = DEFAULT_TIMEOUT) -> None:
        """Until every hash of ``hashes`` was announced to us (over any number of ``inv``)."""
        wanted = set(hashes)

        def announced() -> bool:
            seen = {i.hash for m in self.messages if m.command == "inv" for i in m.items}  # type: ignore[attr-defined]
            return wanted <= seen

        await self.wait_until(announced, timeout)

    def received(self, command: str) -> list[Any]:
        return [m for m in self.messages if m.command == command]


class ChainServingPeer(P2PInterface):
    """A peer that holds a chain of ``blocks`` (genesis first) and serves it: answers
    ``getheaders`` from its own chain and ``getdata`` for blocks (unless ``serve_blocks`` is
    False: then it stalls, never answering block requests)."""

    def __init__(self, blocks: Sequence[Block], *, serve_blocks: bool = True, **kwargs: Any):
        super().__init__(best_height=len(blocks) - 1, **kwargs)
        self.blocks = list(blocks)
        self.by_hash = {b.hash: i for i, b in enumerate(self.blocks)}
        self.serve_blocks = serve_blocks
        self.block_requests: list[bytes] = []

    async def on_getheaders(self, message: GetHeaders) -> None:
        start = 0
        for block_hash in message.locator:
            if block_hash in self.by_hash:
                start = self.by_hash[block_hash] + 1
                break
        chunk = [b.header for b in self.blocks[start : start + 2000]]
        if message.stop_hash != ZERO_HASH and message.stop_hash in self.by_hash:
            chunk = chunk[: max(0, self.by_hash[message.stop_hash] - start + 1)]
        await self.send_message(Headers(tuple(chunk)))

    async def on_getdata(self, message: GetData) -> None:
        missing = []
        for item in message.items:
            if item.type != INV_BLOCK:
                missing.append(item)
                continue
            self.block_requests.append(item.hash)
            if not self.serve_blocks:
                continue
            index = self.by_hash.get(item.hash)
            if index is None:
                missing.append(item)
            else:
                await self.send_message(BlockMessage(self.blocks[index]))
        if missing:
            await self.send_message(NotFound(tuple(missing)))
