"""Chain and block endpoints: ``/v1/chain``, ``/v1/chain/tips`` (Core's ``getchaintips``),
``/v1/blocks...``, ``/v1/block/...`` (with Esplora's ``/header``, ``/status``,
``/txid/{index}`` and ``/txs[/{start}]``), ``/v1/block-height/{height}``, and ``/healthz``.

May import aiohttp, consensus, node modules and the standard library. The functions named
``_..._on_chain`` run on the chain thread (through ``ctx.call``).
"""

from __future__ import annotations

from aiohttp import web

from node.api.context import CONTEXT, ApiContext
from node.api.errors import ApiError
from node.api.inputs import parse_hash, parse_height, parse_int
from node.api.txlookup import found_json, in_block
from node.api.views import Json, block_json, chainwork_hex, difficulty, raw_tx_count
from node.blockindex import ChainEntry
from node.chaintips import chain_tips

BLOCKS_PER_PAGE = 10
TIPS_DEFAULT, TIPS_MAX = 100, 1000
MAX_TX_INDEX = 10_000_000
TXS_PER_PAGE = 25  # Esplora's


def entry_or_404(ctx: ApiContext, block_hash: bytes) -> ChainEntry:
    entry = ctx.chain.entries.get(block_hash)
    if entry is None:
        raise ApiError(404, "block_not_found", "no block with this hash")
    return entry


def _summary(ctx: ApiContext, entry: ChainEntry) -> Json:
    raw = ctx.chain.store.get_block(entry.hash)
    size = None if raw is None else len(raw)
    tx_count = None if raw is None else raw_tx_count(raw)
    return block_json(entry, size, tx_count, ctx.chain.is_active(entry), ctx.params)


def _chain_info_on_chain(ctx: ApiContext) -> Json:
    chain = ctx.chain
    tip = chain.tip
    mempool = ctx.mempool
    params = ctx.params
    return {
        "network": params.name,
        "chain_id": params.chain_id.decode(),
        "height": tip.height,
        "tip": tip.hash_hex,
        "chainwork": chainwork_hex(tip),
        "bits": tip.header.bits,
        "difficulty": difficulty(tip.header.bits, params),
        "median_time": tip.median_time_past,
        "mempool": {"count": len(mempool), "bytes": mempool.bytes},
        "pruned": chain.pruner is not None or chain.pruned_height > 0,
        "prune_height": chain.pruned_height if chain.pruned_height else None,
    }


async def chain_info(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    info = await ctx.call(_chain_info_on_chain, ctx)
    manager = ctx.connmgr
    info["peers"] = 0 if manager is None else len(manager.peers())
    height = info["height"]
    best = ctx.best_peer_height()
    headers = height if best is None else max(best, height)
    info["headers"] = headers
    # As Core's getblockchaininfo: still catching up (the API's own 503 rule), and how far
    # along, here in blocks (Core estimates transactions).
    info["initial_block_download"] = headers - height > ctx.settings.sync_lag_blocks
    info["verification_progress"] = round(height / headers, 6) if headers else 1.0
    return web.json_response(info)


def _tips_on_chain(ctx: ApiContext, limit: int) -> list[Json]:
    chain = ctx.chain
    tips = chain_tips(chain.entries.values(), chain.tip, chain.is_active)
    return [tip.to_json() for tip in tips[:limit]]


async def chain_tips_endpoint(request: web.Request) -> web.Response:
    """Bitcoin Core's ``getchaintips``: the tips of the block tree, highest first, with the
    branch length to the active chain and a status (docs/api.md); at most ``limit``."""
    ctx = request.app[CONTEXT]
    text = request.query.get("limit")
    limit = TIPS_DEFAULT if text is None else parse_int(text, "limit", 1, TIPS_MAX)
    return web.json_response(await ctx.call(_tips_on_chain, ctx, limit))


def _tip(request: web.Request) -> tuple[int, str]:
    tip = request.app[CONTEXT].tip
    if tip is None:
        raise ApiError(503, "not_ready", "the node is starting")
    return tip.height, tip.hash_hex


async def tip_height(request: web.Request) -> web.Response:
    return web.Response(text=str(_tip(request)[0]))


async def tip_hash(request: web.Request) -> web.Response:
    return web.Response(text=_tip(request)[1])


def _blocks_on_chain(ctx: ApiContext, start: int | None) -> list[Json]:
    chain = ctx.chain
    top = chain.height if start is None else min(start, chain.height)
    result = []
    for height in range(top, max(-1, top - BLOCKS_PER_PAGE), -1):
        entry = chain.entry_at(height)
        assert entry is not None
        result.append(_summary(ctx, entry))
    return result


async def blocks(request: web.Request) -> web.Response:
    """``/v1/blocks?start_height=H``, or Esplora's ``/v1/blocks/H``."""
    ctx = request.app[CONTEXT]
    text = request.match_info.get("start_height", request.query.get("start_height"))
    start = None if text is None else parse_height(text, "start_height")
    return web.json_response(await ctx.call(_blocks_on_chain, ctx, start))


def _block_on_chain(ctx: ApiContext, block_hash: bytes) -> Json:
    return _summary(ctx, entry_or_404(ctx, block_hash))


async def block(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    block_hash = parse_hash(request.match_info["hash"], "block hash")
    return web.json_response(await ctx.call(_block_on_chain, ctx, block_hash))


def no_block_data(ctx: ApiContext, entry: ChainEntry) -> ApiError:
    """404 for a block whose header is known and data is not: pruned, or never received."""
    if entry.height <= ctx.chain.pruned_height:
        return ApiError(
            404, "block_pruned", f"this node pruned blocks up to height {ctx.chain.pruned_height}"
        )
    return ApiError(404, "block_data_not_found", "the block's header is known, its data is not")


def _raw_on_chain(ctx: ApiContext, block_hash: bytes) -> bytes:
    entry = entry_or_404(ctx, block_hash)
    raw = ctx.chain.store.get_block(block_hash)
    if raw is None:
        raise no_block_data(ctx, entry)
    return raw


def _txids_on_chain(ctx: ApiContext, block_hash: bytes) -> list[str]:
    entry = entry_or_404(ctx, block_hash)
    found = ctx.chain.get_block(block_hash)
    if found is None:
        raise no_block_data(ctx, entry)
    return [tx.txid_hex for tx in found.transactions]


async def block_txids(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    block_hash = parse_hash(request.match_info["hash"], "block hash")
    return web.json_response(await ctx.call(_txids_on_chain, ctx, block_hash))


async def block_raw(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    block_hash = parse_hash(request.match_info["hash"], "block hash")
    raw = await ctx.call(_raw_on_chain, ctx, block_hash)
    return web.Response(body=raw, content_type="application/octet-stream")


def _header_on_chain(ctx: ApiContext, block_hash: bytes) -> str:
    return entry_or_404(ctx, block_hash).header.encoded.hex()


async def block_header(request: web.Request) -> web.Response:
    """Esplora's ``/block/:hash/header``: the 80-byte header as hex (plain text)."""
    ctx = request.app[CONTEXT]
    block_hash = parse_hash(request.match_info["hash"], "block hash")
    return web.Response(text=await ctx.call(_header_on_chain, ctx, block_hash))


def _status_on_chain(ctx: ApiContext, block_hash: bytes) -> Json:
    entry = entry_or_404(ctx, block_hash)
    chain = ctx.chain
    if not chain.is_active(entry):
        return {"in_best_chain": False}
    following = chain.active[entry.height + 1] if entry.height < chain.height else None
    return {
        "in_best_chain": True,
        "height": entry.height,
        "next_best": None if following is None else following.hash_hex,
    }


async def block_status(request: web.Request) -> web.Response:
    """Esplora's ``/block/:hash/status``: whether the block is on the active chain, its height
    and the next block there (``next_best``, null at the tip)."""
    ctx = request.app[CONTEXT]
    block_hash = parse_hash(request.match_info["hash"], "block hash")
    return web.json_response(await ctx.call(_status_on_chain, ctx, block_hash))


def _txid_at_on_chain(ctx: ApiContext, block_hash: bytes, index: int) -> str:
    txids = _txids_on_chain(ctx, block_hash)
    if index >= len(txids):
        raise ApiError(404, "tx_not_found", f"the block has {len(txids)} transactions")
    return txids[index]


async def block_txid(request: web.Request) -> web.Response:
    """Esplora's ``/block/:hash/txid/:index``: the txid at a position (plain text)."""
    ctx = request.app[CONTEXT]
    block_hash = parse_hash(request.match_info["hash"], "block hash")
    index = parse_int(request.match_info["index"], "index", 0, MAX_TX_INDEX)
    return web.Response(text=await ctx.call(_txid_at_on_chain, ctx, block_hash, index))


def _txs_on_chain(ctx: ApiContext, block_hash: bytes, start: int) -> list[Json]:
    entry = entry_or_404(ctx, block_hash)
    block = ctx.chain.get_block(block_hash)
    if block is None:
        raise no_block_data(ctx, entry)
    txs = block.transactions
    if start >= len(txs):
        raise ApiError(404, "tx_not_found", f"the block has {len(txs)} transactions")
    undo = ctx.chain.store.get_undo(block_hash) if entry.height > 0 else []
    active = entry if ctx.chain.is_active(entry) else None
    return [
        found_json(ctx, in_block(txs[position], position, undo, active))
        for position in range(start, min(start + TXS_PER_PAGE, len(txs)))
    ]


async def block_txs(request: web.Request) -> web.Response:
    """Esplora's ``/block/:hash/txs[/:start_index]``: 25 transactions from ``start_index`` (a
    multiple of 25), as ``GET /v1/tx/{txid}`` shows them."""
    ctx = request.app[CONTEXT]
    block_hash = parse_hash(request.match_info["hash"], "block hash")
    start = parse_int(request.match_info.get("start", "0"), "start_index", 0, MAX_TX_INDEX)
    if start % TXS_PER_PAGE:
        raise ApiError(400, "bad_start_index", f"start_index must be a multiple of {TXS_PER_PAGE}")
    return web.json_response(await ctx.call(_txs_on_chain, ctx, block_hash, start))


def _hash_at_on_chain(ctx: ApiContext, height: int) -> str:
    entry = ctx.chain.entry_at(height)
    if entry is None:
        raise ApiError(404, "block_not_found", f"no block at height {height} on the active chain")
    return entry.hash_hex


async def block_height(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    height = parse_height(request.match_info["height"])
    return web.Response(text=await ctx.call(_hash_at_on_chain, ctx, height))


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def routes() -> list[web.RouteDef]:
    return [
        web.get("/healthz", healthz, allow_head=False),
        web.get("/v1/chain", chain_info, allow_head=False),
        web.get("/v1/chain/tips", chain_tips_endpoint, allow_head=False),
        web.get("/v1/blocks/tip/height", tip_height, allow_head=False),
        web.get("/v1/blocks/tip/hash", tip_hash, allow_head=False),
        web.get("/v1/blocks", blocks, allow_head=False),
        web.get("/v1/blocks/{start_height}", blocks, allow_head=False),
        web.get("/v1/block/{hash}", block, allow_head=False),
        web.get("/v1/block/{hash}/txids", block_txids, allow_head=False),
        web.get("/v1/block/{hash}/raw", block_raw, allow_head=False),
        web.get("/v1/block/{hash}/header", block_header, allow_head=False),
        web.get("/v1/block/{hash}/status", block_status, allow_head=False),
        web.get("/v1/block/{hash}/txid/{index}", block_txid, allow_head=False),
        web.get("/v1/block/{hash}/txs", block_txs, allow_head=False),
        web.get("/v1/block/{hash}/txs/{start}", block_txs, allow_head=False),
        web.get("/v1/block-height/{height}", block_height, allow_head=False),
    ]
