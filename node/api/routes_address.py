"""Address endpoints: ``/v1/address/{address}``, ``.../utxo``, ``.../txs?cursor=C``, and
Esplora's ``.../txs/mempool`` and ``.../txs/chain[/{last_seen_txid}]``.

May import aiohttp, consensus, node modules and the standard library. Confirmed data comes from
the address index (``node.addrindex``), unconfirmed data from the mempool
(``node.api.unconfirmed``), both read on the chain thread in one call so they agree.

History paging: newest first, ordered by ``(height, position in block)``. The first page (no
cursor) starts with the address's mempool transactions; ``next_cursor`` is the position of the
last confirmed item returned, and the next page holds only items strictly older. New blocks
only add newer items, so paging while blocks arrive never repeats or skips one.
"""

from __future__ import annotations

from aiohttp import web

from consensus.hashing import hash_to_hex
from node.addrindex import AddressIndex, AddressStats
from node.api.context import CONTEXT, ApiContext
from node.api.errors import ApiError
from node.api.inputs import decode_cursor, encode_cursor, parse_address, parse_hash, parse_int
from node.api.txlookup import BlockReader, find_confirmed, find_unconfirmed, found_json
from node.api.views import Json, address_of, status_json

ESPLORA_CHAIN_PAGE = 25  # Esplora's page of confirmed transactions


def _stats_json(stats: AddressStats) -> Json:
    return {
        "funded_txo_count": stats.funded_count,
        "funded_txo_sum": stats.funded_sum,
        "spent_txo_count": stats.spent_count,
        "spent_txo_sum": stats.spent_sum,
        "tx_count": stats.tx_count,
    }


def _refresh_unconfirmed(ctx: ApiContext) -> None:
    ctx.unconfirmed.refresh(ctx.mempool, ctx.chain.coins)


def _address_on_chain(ctx: ApiContext, lock: bytes) -> tuple[AddressStats, AddressStats]:
    index = ctx.index_ready()
    _refresh_unconfirmed(ctx)
    return index.stats(lock), ctx.unconfirmed.stats(lock)


async def address(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    text = request.match_info["address"]
    lock = parse_address(text, ctx.params.hrp)
    ctx.check_synced()
    chain_stats, mempool_stats = await ctx.call(_address_on_chain, ctx, lock)
    return web.json_response(
        {
            "address": address_of(lock, ctx.params.hrp) or text,
            "chain_stats": _stats_json(chain_stats),
            "mempool_stats": _stats_json(mempool_stats),
        }
    )


def _utxo_on_chain(ctx: ApiContext, lock: bytes) -> list[Json]:
    index = ctx.index_ready()
    _refresh_unconfirmed(ctx)
    limit = ctx.settings.max_utxos
    confirmed = index.utxos(lock, limit + 1)
    if len(confirmed) > limit:
        raise ApiError(400, "too_many_utxos", f"the address has more than {limit} unspent outputs")
    mempool = ctx.mempool
    result: list[Json] = [
        {
            "txid": hash_to_hex(outpoint.txid),
            "vout": outpoint.vout,
            "value": value,
            "coinbase": False,
            "status": {"confirmed": False},
        }
        for outpoint, value in ctx.unconfirmed.outputs(lock, mempool)
    ]
    chain = ctx.chain
    for utxo in confirmed:
        if mempool.spender_of(utxo.outpoint) is not None:
            continue  # spent by an unconfirmed transaction
        result.append(
            {
                "txid": hash_to_hex(utxo.outpoint.txid),
                "vout": utxo.outpoint.vout,
                "value": utxo.value,
                "coinbase": utxo.coinbase,
                "status": status_json(chain.entry_at(utxo.height)),
            }
        )
    return result


async def address_utxo(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    lock = parse_address(request.match_info["address"], ctx.params.hrp)
    ctx.check_synced()
    return web.json_response(await ctx.call(_utxo_on_chain, ctx, lock))


def _mempool_txs(ctx: ApiContext, lock: bytes) -> list[Json]:
    """The address's mempool transactions, newest first (at most the configured number)."""
    _refresh_unconfirmed(ctx)
    txs = []
    for txid in ctx.unconfirmed.txids(lock)[: ctx.settings.max_mempool_txs_in_history]:
        found = find_unconfirmed(ctx, txid)
        if found is not None:
            txs.append(found_json(ctx, found))
    return txs


def _chain_txs(
    ctx: ApiContext, index: AddressIndex, lock: bytes, cursor: tuple[int, int] | None, limit: int
) -> tuple[list[Json], str | None]:
    """Up to ``limit`` confirmed transactions strictly older than ``cursor``, newest first, and
    the cursor of the next page (None at the end)."""
    reader = BlockReader(ctx)
    history = index.history(lock, cursor, limit + 1)
    more = len(history) > limit
    history = history[:limit]
    txs = []
    for item in history:
        found = find_confirmed(ctx, reader, item.txid)
        if found is not None:
            txs.append(found_json(ctx, found))
    last = history[-1] if history else None
    return txs, encode_cursor(last.height, last.position) if more and last else None


def _txs_on_chain(ctx: ApiContext, lock: bytes, cursor: tuple[int, int] | None, limit: int) -> Json:
    index = ctx.index_ready()
    txs = _mempool_txs(ctx, lock) if cursor is None else []
    confirmed, next_cursor = _chain_txs(ctx, index, lock, cursor, limit)
    return {"txs": txs + confirmed, "next_cursor": next_cursor}


def _esplora_chain_on_chain(ctx: ApiContext, lock: bytes, last_seen: bytes | None) -> list[Json]:
    index = ctx.index_ready()
    cursor = None
    if last_seen is not None:
        location = index.tx_location(last_seen)
        if location is None:
            raise ApiError(404, "tx_not_found", "last_seen_txid is not a confirmed transaction")
        cursor = (location.height, location.position)
    return _chain_txs(ctx, index, lock, cursor, ESPLORA_CHAIN_PAGE)[0]


async def address_txs_chain(request: web.Request) -> web.Response:
    """Esplora's ``/address/:address/txs/chain[/:last_seen_txid]``: 25 confirmed transactions,
    newest first, older than ``last_seen_txid`` when given."""
    ctx = request.app[CONTEXT]
    lock = parse_address(request.match_info["address"], ctx.params.hrp)
    text = request.match_info.get("last_seen")
    last_seen = None if text is None else parse_hash(text, "last_seen_txid")
    ctx.check_synced()
    return web.json_response(await ctx.call(_esplora_chain_on_chain, ctx, lock, last_seen))


def _esplora_mempool_on_chain(ctx: ApiContext, lock: bytes) -> list[Json]:
    ctx.index_ready()  # the same answer as the other address endpoints on a pruned node
    return _mempool_txs(ctx, lock)


async def address_txs_mempool(request: web.Request) -> web.Response:
    """Esplora's ``/address/:address/txs/mempool``: its mempool transactions, newest first."""
    ctx = request.app[CONTEXT]
    lock = parse_address(request.match_info["address"], ctx.params.hrp)
    return web.json_response(await ctx.call(_esplora_mempool_on_chain, ctx, lock))


async def address_txs(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    settings = ctx.settings
    lock = parse_address(request.match_info["address"], ctx.params.hrp)
    text = request.query.get("cursor")
    cursor = None if text is None else decode_cursor(text)
    limit_text = request.query.get("limit")
    limit = (
        settings.page_size
        if limit_text is None
        else parse_int(limit_text, "limit", 1, settings.max_page_size)
    )
    ctx.check_synced()
    return web.json_response(await ctx.call(_txs_on_chain, ctx, lock, cursor, limit))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/v1/address/{address}", address, allow_head=False),
        web.get("/v1/address/{address}/utxo", address_utxo, allow_head=False),
        web.get("/v1/address/{address}/txs", address_txs, allow_head=False),
        web.get("/v1/address/{address}/txs/mempool", address_txs_mempool, allow_head=False),
        web.get("/v1/address/{address}/txs/chain", address_txs_chain, allow_head=False),
        web.get(
            "/v1/address/{address}/txs/chain/{last_seen}", address_txs_chain, allow_head=False
        ),
    ]
