"""Esplora's spending status of transaction outputs: ``GET /v1/tx/{txid}/outspends`` (every
output) and ``GET /v1/tx/{txid}/outspend/{vout}`` (one).

May import aiohttp, consensus, node modules and the standard library. Runs on the chain thread.
A confirmed spend comes from the spending index (``node.spentindex``, kept by the address
index, so 503 ``index_syncing`` while that catches up); otherwise a spend in the mempool; else
the output is unspent. Each answer is ``{"spent": false}`` or ``{"spent": true, "txid", "vin",
"status"}`` with the spending transaction's Esplora ``status``.
"""

from __future__ import annotations

from aiohttp import web

from consensus.hashing import hash_to_hex
from consensus.transaction import OutPoint
from node.addrindex import AddressIndex
from node.api.context import CONTEXT, ApiContext
from node.api.errors import ApiError
from node.api.inputs import parse_hash, parse_int
from node.api.txlookup import BlockReader, find_tx
from node.api.views import Json, status_json

MAX_VOUT = 1_000_000


def outspend_json(ctx: ApiContext, index: AddressIndex, outpoint: OutPoint) -> Json:
    spender = index.spender(outpoint)
    if spender is not None:
        entry = ctx.chain.entry_at(spender.height)
        if entry is not None and entry.hash == spender.block_hash:
            return {
                "spent": True,
                "txid": hash_to_hex(spender.txid),
                "vin": spender.vin,
                "status": status_json(entry),
            }
    mempool = ctx.mempool
    pending = mempool.spender_of(outpoint)
    mentry = None if pending is None else mempool.get(pending)
    if mentry is not None:
        return {
            "spent": True,
            "txid": mentry.tx.txid_hex,
            "vin": mentry.tx.inputs.index(outpoint),
            "status": status_json(None),
        }
    return {"spent": False}


def _outspends_on_chain(ctx: ApiContext, txid: bytes, vout: int | None) -> Json | list[Json]:
    found = find_tx(ctx, BlockReader(ctx), txid)
    count = len(found.tx.outputs)
    if vout is not None and vout >= count:
        raise ApiError(404, "output_not_found", f"the transaction has {count} outputs")
    index = ctx.index_ready()
    if vout is not None:
        return outspend_json(ctx, index, OutPoint(txid, vout))
    return [outspend_json(ctx, index, OutPoint(txid, n)) for n in range(count)]


async def outspends(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    txid = parse_hash(request.match_info["txid"], "txid")
    return web.json_response(await ctx.call(_outspends_on_chain, ctx, txid, None))


async def outspend(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    txid = parse_hash(request.match_info["txid"], "txid")
    vout = parse_int(request.match_info["vout"], "vout", 0, MAX_VOUT)
    return web.json_response(await ctx.call(_outspends_on_chain, ctx, txid, vout))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/v1/tx/{txid}/outspends", outspends, allow_head=False),
        web.get("/v1/tx/{txid}/outspend/{vout}", outspend, allow_head=False),
    ]
