"""Compact block filters (``node.blockfilter``): ``GET /v1/block/{hash}/filter`` (Bitcoin Core's
``getblockfilter``), ``GET /v1/block/{hash}/filter-headers?count=N`` (Core's REST
``blockfilterheaders``: the filter headers of this block and the next ones up the active chain)
and admin ``POST /v1/chain/scan-blocks`` (Core's ``scanblocks``: the blocks of a height range
whose filters match any of up to 100 addresses; a match may be a false positive, a miss never
is). The scan reads the filters from the chain thread a chunk at a time and matches them on a
worker thread; one scan runs at a time (409 ``scan_in_progress``).

May import aiohttp, consensus, node modules and the standard library. Runs on the chain thread.
The filters are kept by the node's index (``node.filterindex``, with the address index): 503
``index_disabled`` on a pruned node, ``index_syncing`` while it catches up. Only blocks of the
active chain have one; any other known block is 404 ``not_in_active_chain``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiohttp import web

from consensus.hashing import hash_to_hex
from node.api.context import CONTEXT, ApiContext
from node.api.errors import ApiError
from node.api.guard import check_admin
from node.api.inputs import address_locks, json_field, parse_hash, parse_int, read_json_object
from node.api.routes_chain import entry_or_404
from node.api.views import Json
from node.blockfilter import match_any
from node.blockindex import ChainEntry
from node.filterindex import BlockFilter

MAX_HEADERS = 2000  # Core's REST limit
DEFAULT_HEADERS = 1
MAX_SCAN_ADDRESSES = 100
MAX_SCAN_BODY = 16 * 1024
SCAN_CHUNK = 500  # filters read from the chain thread at a time
SCAN_LOCK = web.AppKey("scan_blocks_lock", asyncio.Lock)


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


def _range_on_chain(ctx: ApiContext, start: int, stop: int | None) -> tuple[int, int]:
    """``[start, stop]`` checked against the tip (``stop`` None: the tip); the index ready."""
    ctx.index_ready()
    tip = ctx.chain.tip.height
    last = tip if stop is None else stop
    if not 0 <= start <= last <= tip:
        raise ApiError(
            400, "bad_range", f"need 0 <= start_height <= stop_height <= {tip} (the tip)"
        )
    return start, last


def _filters_on_chain(ctx: ApiContext, height: int, count: int) -> list[BlockFilter]:
    return ctx.index_ready().block_filters(height, count)


def _matching(filters: Sequence[BlockFilter], locks: frozenset[bytes]) -> list[Json]:
    return [
        {"block_hash": hash_to_hex(f.block_hash), "height": f.height}
        for f in filters
        if match_any(f.filter, f.block_hash, locks)
    ]


async def scan_blocks(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    check_admin(request, ctx.token)
    data = await read_json_object(request, MAX_SCAN_BODY)
    locks = address_locks(data, ctx.params.hrp, MAX_SCAN_ADDRESSES)
    start = json_field(data, "start_height", int, 0)
    stop = json_field(data, "stop_height", int, None)
    lock = request.app[SCAN_LOCK]
    if lock.locked():
        raise ApiError(409, "scan_in_progress", "a block scan is running; try again when it ends")
    async with lock:
        first, last = await ctx.call(_range_on_chain, ctx, start, stop)
        relevant: list[Json] = []
        for height in range(first, last + 1, SCAN_CHUNK):
            count = min(SCAN_CHUNK, last + 1 - height)
            filters = await ctx.call(_filters_on_chain, ctx, height, count)
            relevant += await asyncio.to_thread(_matching, filters, locks)
    return web.json_response({"from_height": first, "to_height": last, "relevant_blocks": relevant})


def routes() -> list[web.RouteDef]:
    return [
        web.get("/v1/block/{hash}/filter", block_filter, allow_head=False),
        web.get("/v1/block/{hash}/filter-headers", filter_headers, allow_head=False),
        web.post("/v1/chain/scan-blocks", scan_blocks),
    ]
