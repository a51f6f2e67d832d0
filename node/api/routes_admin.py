"""Node operations (admin), as Bitcoin Core's ``savemempool`` and ``stop``:
``POST /v1/mempool/save`` and ``POST /v1/stop``.

May import aiohttp, node modules and the standard library.

- ``/v1/mempool/save`` writes ``<datadir>/mempool.dat`` now, as a clean shutdown would (even
  with ``--no-persist-mempool``): ``{"path", "transactions"}``; 409 ``mempool_not_loaded``
  while the saved mempool is still being offered again; 500 ``mempool_save_failed`` if the
  write fails (the old file is kept: writes are atomic).
- ``/v1/stop`` answers ``{"stopping": true}`` and then stops the node as SIGTERM does: the
  block being written is finished, peers are closed, the mempool is saved, the process exits
  with 0.
"""

from __future__ import annotations

import structlog
from aiohttp import web

from node.api.context import CONTEXT, ApiContext
from node.api.errors import ApiError
from node.api.guard import check_admin
from node.api.views import Json
from node.keeper import MempoolNotLoaded

log = structlog.get_logger("seedchain.api")


def _save_on_chain(ctx: ApiContext, unbroadcast: list[bytes]) -> Json:
    try:
        path, count = ctx.node.keeper.save_mempool_now(unbroadcast)
    except MempoolNotLoaded as exc:
        raise ApiError(409, "mempool_not_loaded", str(exc), {"Retry-After": "1"}) from None
    except OSError as exc:
        log.error("mempool_save_failed", reason=str(exc))
        raise ApiError(500, "mempool_save_failed", "writing mempool.dat failed") from None
    return {"path": str(path), "transactions": count}


async def save_mempool(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    check_admin(request, ctx.token)
    netsync = ctx.node.netsync
    unbroadcast = [] if netsync is None else list(netsync.txrelay.unbroadcast)
    return web.json_response(await ctx.call(_save_on_chain, ctx, unbroadcast))


async def stop(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    check_admin(request, ctx.token)
    log.info("stop_requested")
    ctx.node.request_stop()
    return web.json_response({"stopping": True})


def routes() -> list[web.RouteDef]:
    return [
        web.post("/v1/mempool/save", save_mempool),
        web.post("/v1/stop", stop),
    ]
