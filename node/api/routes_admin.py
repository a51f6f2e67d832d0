"""Node operations (admin), as Bitcoin Core's ``savemempool``, ``prioritisetransaction``,
``getprioritisedtransactions`` and ``stop``: ``POST /v1/mempool/save``,
``POST /v1/mempool/prioritise``, ``GET /v1/mempool/prioritised`` and ``POST /v1/stop``.

May import aiohttp, node modules and the standard library.

- ``/v1/mempool/save`` writes ``<datadir>/mempool.dat`` now, as a clean shutdown would (even
  with ``--no-persist-mempool``): ``{"path", "transactions"}``; 409 ``mempool_not_loaded``
  while the saved mempool is still being offered again; 500 ``mempool_save_failed`` if the
  write fails (the old file is kept: writes are atomic).
- ``/v1/mempool/prioritise`` takes ``{"txid", "fee_delta"}`` (base units, at most the money
  supply either way) and adds the delta to the fee that block selection, eviction, the fee
  floors and the replacement rules count for that transaction, now or when it arrives
  (``Mempool.prioritise``); answers the total ``fee_delta`` and ``in_mempool``. 400
  ``too_many_prioritised`` beyond ``MAX_DELTAS`` txids. ``/v1/mempool/prioritised`` lists the
  deltas in force, with each transaction's ``modified_fee`` when it is in the mempool.
- ``/v1/chain/prune`` takes ``{"height"}`` and prunes every block up to it now (Core's
  ``pruneblockchain``), never the newest ``keep_blocks`` (288) below the stored tip; answers
  the ``pruned_height`` reached. 409 ``not_pruning`` without ``--prune``; 400 ``bad_height``
  above the tip.
- ``GET /v1/logging`` shows the process's log level and the loggers given their own, and
  ``POST /v1/logging`` changes them while the node runs (Core's ``logging``; ``node.logs``):
  ``{"level": "debug"}`` for the process, ``{"logger": "p2p", "level": "debug"}`` for a
  logger and its children (``"level": null`` puts it back on the process's level); answers the
  levels now. 400 ``bad_field`` for an unknown level or a malformed logger name, or past 100
  loggers with their own level.
- ``/v1/stop`` answers ``{"stopping": true}`` and then stops the node as SIGTERM does: the
  block being written is finished, peers are closed, the mempool is saved, the process exits
  with 0.
"""

from __future__ import annotations

import structlog
from aiohttp import web

from consensus.hashing import hash_to_hex
from consensus.transaction import MAX_MONEY
from node import logs
from node.api.context import CONTEXT, ApiContext
from node.api.errors import ApiError
from node.api.guard import check_admin
from node.api.inputs import json_field, parse_hash, read_json_object
from node.api.views import Json
from node.keeper import MempoolNotLoaded
from node.mempool_errors import TooManyPrioritised

log = structlog.get_logger("seedchain.api")
MAX_ADMIN_BODY = 4096  # as every admin JSON body (docs/api.md, "Limits")


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


def _prioritise_on_chain(ctx: ApiContext, txid: bytes, fee_delta: int) -> Json:
    try:
        total = ctx.mempool.prioritise(txid, fee_delta)
    except TooManyPrioritised as exc:
        raise ApiError(400, exc.code, str(exc)) from None
    return {"txid": hash_to_hex(txid), "fee_delta": total, "in_mempool": txid in ctx.mempool}


async def prioritise(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    check_admin(request, ctx.token)
    data = await read_json_object(request, MAX_ADMIN_BODY)
    txid = parse_hash(str(json_field(data, "txid", str)), "txid")
    fee_delta = json_field(data, "fee_delta", int)
    if not -MAX_MONEY <= fee_delta <= MAX_MONEY:
        raise ApiError(400, "bad_field", f"fee_delta must be within +-{MAX_MONEY}")
    return web.json_response(await ctx.call(_prioritise_on_chain, ctx, txid, fee_delta))


def _prioritised_on_chain(ctx: ApiContext) -> Json:
    entries = ctx.mempool.graph.entries
    listed = []
    for txid, delta in sorted(ctx.mempool.deltas.items()):
        entry = entries.get(txid)
        listed.append(
            {
                "txid": hash_to_hex(txid),
                "fee_delta": delta,
                "in_mempool": entry is not None,
                "modified_fee": None if entry is None else entry.modified_fee,
            }
        )
    return {"transactions": listed}


async def prioritised(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    check_admin(request, ctx.token)
    return web.json_response(await ctx.call(_prioritised_on_chain, ctx))


def _prune_on_chain(ctx: ApiContext, height: int) -> Json:
    chain = ctx.chain
    if chain.pruner is None:
        raise ApiError(409, "not_pruning", "the node does not prune: start it with --prune")
    if height > chain.height:
        raise ApiError(400, "bad_height", f"the chain is {chain.height} blocks high, not {height}")
    chain.pruner.prune_to(chain, height)
    return {"pruned_height": chain.pruned_height}


async def prune_chain(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    check_admin(request, ctx.token)
    data = await read_json_object(request, MAX_ADMIN_BODY)
    height = json_field(data, "height", int)
    if height < 0:
        raise ApiError(400, "bad_height", "height must be >= 0")
    return web.json_response(await ctx.call(_prune_on_chain, ctx, height))


async def get_logging(request: web.Request) -> web.Response:
    check_admin(request, request.app[CONTEXT].token)
    return web.json_response(logs.levels())


async def set_logging(request: web.Request) -> web.Response:
    check_admin(request, request.app[CONTEXT].token)
    data = await read_json_object(request, MAX_ADMIN_BODY)
    if "level" not in data:
        raise ApiError(400, "missing_field", "body needs the field 'level'")
    level, logger = data["level"], data.get("logger")
    if not isinstance(level, str | None) or not isinstance(logger, str | None):
        raise ApiError(400, "bad_field", "level and logger must be strings (level: or null)")
    try:
        logs.set_level(level, logger)
    except logs.LogLevelError as exc:
        raise ApiError(400, "bad_field", str(exc)) from None
    log.info("log_level_changed", level=level, logger=logger or "(process)")
    return web.json_response(logs.levels())


def routes() -> list[web.RouteDef]:
    return [
        web.post("/v1/mempool/save", save_mempool),
        web.post("/v1/mempool/prioritise", prioritise),
        web.get("/v1/mempool/prioritised", prioritised, allow_head=False),
        web.post("/v1/chain/prune", prune_chain),
        web.get("/v1/logging", get_logging, allow_head=False),
        web.post("/v1/logging", set_logging),
        web.post("/v1/stop", stop),
    ]
