"""Compact block filters (``node.blockfilter``): ``GET /v1/block/{hash}/filter`` (Bitcoin Core's
``getblockfilter``) and ``GET /v1/block/{hash}/filter-headers?count=N`` (Core's REST
``blockfilterheaders``: the filter headers of this block and the next ones up the active chain).

May import aiohttp, consensus, node modules and the standard library. Runs on the chain thread.
The filters are kept by the node's index (``node.filterindex``, with the address index): 503
``index_disabled`` on a pruned node, ``index_syncing`` while it catches up. Only blocks of the
active chain have one; any other known block is 404 ``not_in_active_chain``.
"""

from __future__ import annotations

from aiohttp import web

from consensus.hashing import hash_to_hex
from node.api.context import CONTEXT, ApiContext
from node.api.errors import ApiError
from node.api.inputs import parse_hash, parse_int
from node.api.routes_chain import entry_or_404
from node.api.views import Json
from node.blockindex import ChainEntry

MAX_HEADERS = 2000  # Core's REST limit
DEFAULT_HEADERS = 1


def _active_or_404(ctx: ApiContext, block_hash: bytes) -> ChainEntry:
    entry = entry_or_404(ctx, block_hash)
    if not ctx.chain.is_active(entry):
        raise ApiError(404, "not_in_active_chain", "filters are kept for the active chain only")
    return entry


def _filter_on_chain(ctx: ApiContext, block_hash: bytes) -> Json:
    entry = _active_or_404(ctx, block_hash)
    index = ctx.index_ready()
    found = index.block_filter(block_hash)
    if found is None:  # a synced index has every active block's filter: a damaged database
        raise ApiError(503, "index_unavailable", "the block filter index lacks this block")
    return {
        "block_hash": entry.hash_hex,
        "height": entry.height,
        "filter": found.filter.hex(),
        "header": hash_to_hex(found.header),
    }


def _headers_on_chain(ctx: ApiContext, block_hash: bytes, count: int) -> list[Json]:
    entry = _active_or_404(ctx, block_hash)
    index = ctx.index_ready()
    found = index.filter_headers(entry.height, count)
    return [
        {
            "block_hash": hash_to_hex(f.block_hash),
            "height": f.height,
            "header": hash_to_hex(f.header),
        }
        for f in found
    ]


async def block_filter(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    block_hash = parse_hash(request.match_info["hash"])
    return web.json_response(await ctx.call(_filter_on_chain, ctx, block_hash))


async def filter_headers(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    block_hash = parse_hash(request.match_info["hash"])
    count = parse_int(request.query.get("count", str(DEFAULT_HEADERS)), "count", 1, MAX_HEADERS)
    return web.json_response(await ctx.call(_headers_on_chain, ctx, block_hash, count))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/v1/block/{hash}/filter", block_filter, allow_head=False),
        web.get("/v1/block/{hash}/filter-headers", filter_headers, allow_head=False),
    ]
