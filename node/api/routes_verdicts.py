"""An operator's verdicts on blocks (admin), as Bitcoin Core's ``invalidateblock`` and
``reconsiderblock``: ``POST /v1/block/{hash}/invalidate`` and ``/reconsider``.

May import aiohttp, node modules and the standard library. Both run on the chain thread
(``node.chain_manual``) and answer the tip they leave: ``{"hash", "tip", "height",
"disconnected", "connected"}``. 404 for an unknown block, 400 for the genesis block or a block
too deep, 503 while the chain is in the middle of connecting blocks (try again).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from node.api.context import CONTEXT, ApiContext
from node.api.errors import ApiError
from node.api.guard import check_admin
from node.api.inputs import parse_hash
from node.api.views import Json
from node.chain import ChainState, ChainUpdate
from node.chain_manual import ManualVerdictError, invalidate_block, reconsider_block

STATUS = {"block_not_found": 404, "busy": 503}


def _verdict_on_chain(
    ctx: ApiContext, verdict: Callable[[ChainState, bytes], ChainUpdate], block_hash: bytes
) -> Json:
    chain = ctx.chain
    try:
        update = verdict(chain, block_hash)
    except ManualVerdictError as exc:
        headers = {"Retry-After": "1"} if exc.code == "busy" else None
        raise ApiError(STATUS.get(exc.code, 400), exc.code, str(exc), headers) from None
    return {
        "hash": block_hash[::-1].hex(),
        "tip": chain.tip.hash_hex,
        "height": chain.height,
        "disconnected": len(update.disconnected),
        "connected": len(update.connected),
    }


async def _verdict(
    request: web.Request, verdict: Callable[[ChainState, bytes], ChainUpdate]
) -> web.Response:
    ctx = request.app[CONTEXT]
    check_admin(request, ctx.token)
    block_hash = parse_hash(request.match_info["hash"], "block hash")
    return web.json_response(await ctx.call(_verdict_on_chain, ctx, verdict, block_hash))


async def invalidate(request: web.Request) -> web.Response:
    return await _verdict(request, invalidate_block)


async def reconsider(request: web.Request) -> web.Response:
    return await _verdict(request, reconsider_block)


def routes() -> list[web.RouteDef]:
    return [
        web.post("/v1/block/{hash}/invalidate", invalidate),
        web.post("/v1/block/{hash}/reconsider", reconsider),
    ]
