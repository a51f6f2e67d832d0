"""``GET /v1/ws``: a WebSocket that pushes what the node sees happen, as JSON text messages
(Core's ZMQ ``hashblock`` / ``hashtx`` / ``sequence`` notifications, over the API's port).

May import aiohttp, structlog, node types and the standard library. Messages:

- ``{"event": "block", "hash", "height"}``: a block connected to the active chain;
- ``{"event": "block_disconnected", "hash", "height"}``: one taken off it by a reorg
  (before the blocks of the new branch);
- ``{"event": "tx", "txid"}``: a transaction entered the mempool (from the API, a peer, or
  back from a disconnected block).

A client may send ``{"subscribe": ["blocks", "txs"]}`` (either or both; both until it does);
any other message closes the socket (1003). Events reach a client through a bounded queue (1,000): a
client that does not keep up is closed (1013, "too slow") rather than let memory grow, and
should reconnect and resynchronise (``/v1/chain/tips``, ``/v1/mempool/txids``). At most
``MAX_SUBSCRIBERS`` at once (503 beyond). The server pings every 30 s; a stopping node closes
every socket with 1001.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import structlog
from aiohttp import WSCloseCode, WSMsgType, web

from node.api.context import CONTEXT
from node.api.errors import ApiError
from node.api.events_hub import MAX_CLIENT_MESSAGE, MAX_SUBSCRIBERS, TOPICS, Subscriber

log = structlog.get_logger("seedchain.api")


def _topics(data: str) -> set[str]:
    """The topics of a ``{"subscribe": [...]}`` message; ``ValueError`` for anything else."""
    try:
        request = json.loads(data)
    except (ValueError, RecursionError):  # 4 KiB of "[" is deep enough to recurse out
        raise ValueError("not JSON") from None
    if not isinstance(request, dict) or set(request) != {"subscribe"}:
        raise ValueError('expected {"subscribe": [...]}')
    topics = request["subscribe"]
    if (
        not isinstance(topics, list)
        or not topics
        or not all(isinstance(topic, str) and topic in TOPICS for topic in topics)
    ):
        raise ValueError(f"subscribe to a non-empty list of {sorted(TOPICS)}")
    return set(topics)


async def events_endpoint(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    hub = ctx.events
    if len(hub.subscribers) >= MAX_SUBSCRIBERS:
        raise ApiError(503, "too_many_subscribers", f"at most {MAX_SUBSCRIBERS} at once",
                       {"Retry-After": "5"})  # fmt: skip
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=MAX_CLIENT_MESSAGE)
    if not ws.can_prepare(request).ok:
        raise ApiError(400, "not_websocket", "GET /v1/ws needs a WebSocket upgrade")
    await ws.prepare(request)
    subscriber = Subscriber()
    hub.subscribers.add(subscriber)
    try:
        async with asyncio.TaskGroup() as tasks:
            watched = {
                tasks.create_task(_send(ws, subscriber)),
                tasks.create_task(_read(ws, subscriber)),
                tasks.create_task(ctx.closing.wait()),
                tasks.create_task(subscriber.overflowed.wait()),
            }
            await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            for task in watched:
                task.cancel()
        if ctx.closing.is_set():
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"node stopping")
        elif subscriber.overflowed.is_set():
            log.info("ws_subscriber_too_slow", queued=subscriber.queue.qsize())
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow")
    finally:
        hub.subscribers.discard(subscriber)
        await ws.close()
    return ws


def routes() -> list[web.RouteDef]:
    return [web.get("/v1/ws", events_endpoint, allow_head=False)]


async def _send(ws: web.WebSocketResponse, subscriber: Subscriber) -> None:
    """Until the socket goes: a lost connection ends this task, not the request."""
    with contextlib.suppress(ConnectionError):
        while True:
            await ws.send_str(await subscriber.queue.get())


async def _read(ws: web.WebSocketResponse, subscriber: Subscriber) -> None:
    """The client's subscriptions, until it closes or sends something else."""
    async for message in ws:
        if message.type != WSMsgType.TEXT:
            break
        try:
            subscriber.topics = _topics(message.data)
        except ValueError as exc:
            await ws.close(code=WSCloseCode.UNSUPPORTED_DATA, message=str(exc).encode()[:120])
            return
