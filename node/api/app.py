"""The REST API application and its server: ``create_api(node)`` and ``ApiServer``.

May import aiohttp, structlog, node modules (``node.server`` only for types) and the standard
library. ``ApiServer`` owns everything the API holds: the address index (opened and attached to
the chain on the chain thread), the admin cookie file, the listening socket and the index
catch-up task. ``start()`` / ``aclose()`` for explicit control, ``run()`` for a TaskGroup
(lasts until cancelled, cleans up in ``finally``), or ``async with``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from aiohttp import web

from node.addrindex import AddressIndex
from node.api import (
    events,
    routes_address,
    routes_admin,
    routes_bans,
    routes_chain,
    routes_filters,
    routes_mempool,
    routes_mining,
    routes_node,
    routes_outspends,
    routes_package,
    routes_peers,
    routes_stats,
    routes_tx,
    routes_verdicts,
)
from node.api.context import CONTEXT, ApiContext
from node.api.guard import new_token, remove_cookie, write_cookie
from node.api.middleware import api_middleware
from node.api.openapi import build_openapi
from node.api.settings import ApiSettings
from node.metrics import CONTENT_TYPE, NodeMetrics

if TYPE_CHECKING:
    from node.server import Node

log = structlog.get_logger("seedchain.api")
OPENAPI_BODY: web.AppKey[bytes] = web.AppKey("openapi_body", bytes)
INDEX_RETRY_SECONDS = 5.0


def _gauges_on_chain(ctx: ApiContext) -> tuple[int, int, int, int]:
    chain = ctx.chain
    return chain.height, len(ctx.mempool), ctx.mempool.bytes, chain.pruned_height


async def metrics_endpoint(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    height, count, size, pruned_height = await ctx.call(_gauges_on_chain, ctx)
    inbound, outbound = ctx.peer_counts()
    ctx.metrics.refresh(
        height=height,
        mempool_transactions=count,
        mempool_bytes=size,
        peers_in=inbound,
        peers_out=outbound,
        hashrate=ctx.miner_hashps(),
        ws_subscribers=len(ctx.events.subscribers),
        pruned_height=pruned_height,
    )
    return web.Response(body=ctx.metrics.render(), headers={"Content-Type": CONTENT_TYPE})


async def openapi_endpoint(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI_BODY], content_type="application/json")


def create_api(
    node: Node,
    settings: ApiSettings | None = None,
    metrics: NodeMetrics | None = None,
    token: str | None = None,
) -> web.Application:
    """The aiohttp application of ``node``'s REST API. Without ``token`` the admin endpoints
    take a random one nobody knows; ``ApiServer`` passes the cookie's."""
    settings = settings or ApiSettings.from_config(node.config)
    metrics = metrics or getattr(node, "metrics", None) or NodeMetrics()
    ctx = ApiContext(node, settings, metrics, token or new_token())
    app = web.Application(
        client_max_size=settings.max_block_body_bytes, middlewares=[api_middleware]
    )
    app[CONTEXT] = ctx
    app.cleanup_ctx.append(_deadline_sweeper)
    app[OPENAPI_BODY] = json.dumps(build_openapi(node.params), sort_keys=False).encode()
    for module in (
        routes_chain,
        routes_tx,
        routes_package,
        routes_filters,
        routes_outspends,
        routes_address,
        routes_mempool,
        routes_peers,
        routes_bans,
        routes_mining,
        routes_verdicts,
        routes_admin,
        routes_stats,
        routes_node,
        events,
    ):
        app.add_routes(module.routes())
    app[routes_filters.SCAN_LOCK] = asyncio.Lock()
    app[routes_stats.UTXO_STATS] = utxo_stats = routes_stats.UtxoStatsJob()
    app.on_cleanup.append(utxo_stats.on_cleanup)
    app.add_routes(
        [
            web.get("/metrics", metrics_endpoint, allow_head=False),
            web.get("/v1/openapi.json", openapi_endpoint, allow_head=False),
        ]
    )
    return app


async def _deadline_sweeper(app: web.Application) -> AsyncIterator[None]:
    """The request deadlines' sweeper (``node.api.deadlines``) runs while the app serves."""
    sweeper = asyncio.create_task(app[CONTEXT].deadlines.run(), name="api-deadlines")
    yield
    sweeper.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sweeper


class ApiServer:
    """Serves ``create_api(node)`` on ``node.config.api_bind`` (port 0: any free port, see
    ``port``) with the admin token in ``<datadir>/api.cookie``."""

    def __init__(
        self,
        node: Node,
        settings: ApiSettings | None = None,
        metrics: NodeMetrics | None = None,
    ) -> None:
        self.node = node
        self.token = new_token()
        self.app = create_api(node, settings, metrics, self.token)
        self.context = self.app[CONTEXT]
        self.port: int | None = None
        self.cookie_path: Path | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._attached = False
        self._closed = False

    @property
    def metrics(self) -> NodeMetrics:
        return self.context.metrics

    @property
    def url(self) -> str:
        bind = self.node.config.api_bind
        host = f"[{bind.host}]" if ":" in bind.host else bind.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.aclose()
            raise

    async def _start(self) -> None:
        node = self.node
        config = node.config
        self._listen_for_events(attach=True)
        # A pruned node keeps no address index (as Core's -txindex needs every block), nor
        # does one started without --prune on a directory that was pruned before.
        index = (
            None
            if self.context.pruned()
            else await node.call(AddressIndex.open, config.datadir, node.params)
        )
        await node.call(self.context.attach, index)
        self._attached = True
        self._tasks.append(asyncio.create_task(self._catch_up_index(), name="api-index"))
        self._tasks.append(asyncio.create_task(self.context.submitter.run(), name="api-submit"))
        self.cookie_path = write_cookie(config.datadir, self.token)
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=5)
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(
            runner, config.api_bind.host, config.api_bind.port, backlog=1024, reuse_address=True
        )
        await site.start()
        self.port = int(runner.addresses[0][1])
        log.info("api_started", host=config.api_bind.host, port=self.port)

    async def _catch_up_index(self) -> None:
        """Bring the address index to the chain's tip in bounded chain-thread steps, so that
        a long catch-up (first start on a long chain) never stalls the chain thread."""
        ctx = self.context
        wakeup = asyncio.Event()
        loop = asyncio.get_running_loop()

        def wake() -> None:  # from the chain thread
            loop.call_soon_threadsafe(wakeup.set)

        ctx.wake_indexer = wake

        while True:
            try:
                if await self.node.call(ctx.index_catch_up_step):
                    # At the tip: the chain listener keeps it there, and wakes us again when
                    # the node has caught up after a sync during which the index waited.
                    await wakeup.wait()
                    wakeup.clear()
            except Exception:
                log.exception("address_index_catch_up_failed")
                await asyncio.sleep(INDEX_RETRY_SECONDS)

    async def aclose(self) -> None:
        """Stop serving, delete the cookie, detach from the chain. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.context.closing.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        self._listen_for_events(attach=False)
        if self.cookie_path is not None:
            remove_cookie(self.cookie_path, self.token)
        if self._attached:
            try:
                await self.node.call(self.context.detach)
            except RuntimeError:  # the chain thread is already gone: nothing can race us
                self.context.detach()
        log.info("api_stopped")

    def _listen_for_events(self, *, attach: bool) -> None:
        """GET /v1/ws hears of chain updates from the node and of mempool entries from its
        transaction relay, both on the event loop; ``attach=False`` lets go (idempotent)."""
        events = self.context.events
        netsync = getattr(self.node, "netsync", None)
        pairs = [
            (getattr(self.node, "update_listeners", None), events.publish_update),
            (None if netsync is None else netsync.txrelay.entered_listeners, events.publish_txs),
        ]
        for listeners, listener in pairs:
            if listeners is None:
                continue
            if attach:
                listeners.append(listener)
            elif listener in listeners:
                listeners.remove(listener)

    async def run(self) -> None:
        """Serve until cancelled (for the node's TaskGroup)."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.aclose()

    async def __aenter__(self) -> ApiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
