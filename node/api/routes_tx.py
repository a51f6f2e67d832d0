"""Transaction endpoints: ``GET /v1/tx/{txid}[/hex|/status|/merkle-proof]``, ``POST /v1/tx``
and ``POST /v1/tx/test`` (Core's ``testmempoolaccept``).

May import aiohttp, consensus, node modules and the standard library. ``POST /v1/tx`` answers
the txid as text (Esplora), 400 with the rule's or policy's ``code`` for a refused transaction,
409 for a conflict with what the node has (a double spend the replacement rules refuse, an
input already spent in the chain, an already confirmed transaction). Posting a transaction
that is already in the mempool answers its txid again (as Esplora/Core do). Every outcome is
counted by ``NodeMetrics.record_tx_result``.
"""

from __future__ import annotations

import time

from aiohttp import web

from consensus.errors import ConsensusError
from consensus.hashing import hash_to_hex
from consensus.merkle import merkle_branch
from consensus.transaction import MAX_MONEY, Transaction
from node.api.context import CONTEXT, ApiContext
from node.api.errors import ApiError, bad_request, rejection
from node.api.inputs import parse_hash, parse_hex, parse_int, read_body
from node.api.txlookup import BlockReader, find_confirmed, find_tx, found_json
from node.api.views import Json, status_json
from node.mempool_errors import AlreadyInMempool, MempoolError
from node.mempool_policy import DEFAULT_MAX_FEE_RATE


def _tx_on_chain(ctx: ApiContext, txid: bytes) -> Json:
    return found_json(ctx, find_tx(ctx, BlockReader(ctx), txid))


def _hex_on_chain(ctx: ApiContext, txid: bytes) -> str:
    return find_tx(ctx, BlockReader(ctx), txid).tx.encoded.hex()


def _status_on_chain(ctx: ApiContext, txid: bytes) -> Json:
    return status_json(find_tx(ctx, BlockReader(ctx), txid).entry)


def _merkle_proof_on_chain(ctx: ApiContext, txid: bytes) -> Json:
    found = find_confirmed(ctx, BlockReader(ctx), txid)
    if found is None or found.location is None or found.entry is None:
        if ctx.mempool.get(txid) is not None:
            raise ApiError(404, "tx_not_confirmed", "the transaction is not in a block yet")
        raise ApiError(404, "tx_not_found", "no such transaction in the chain")
    block = ctx.chain.get_block(found.location.block_hash)
    if block is None:
        raise ApiError(503, "block_data_missing", "the block's data is not stored")
    position = found.location.position
    branch = merkle_branch([tx.wtxid for tx in block.transactions], position)
    return {
        "block_height": found.entry.height,
        "block_hash": found.entry.hash_hex,
        "merkle": [hash_to_hex(h) for h in branch],
        "pos": position,
        "wtxid": hash_to_hex(found.tx.wtxid),
    }


async def get_tx(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    txid = parse_hash(request.match_info["txid"], "txid")
    return web.json_response(await ctx.call(_tx_on_chain, ctx, txid))


async def get_tx_hex(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    txid = parse_hash(request.match_info["txid"], "txid")
    return web.Response(text=await ctx.call(_hex_on_chain, ctx, txid))


async def get_tx_raw(request: web.Request) -> web.Response:
    """Esplora's ``/tx/:txid/raw``: the transaction's canonical bytes."""
    ctx = request.app[CONTEXT]
    txid = parse_hash(request.match_info["txid"], "txid")
    raw = bytes.fromhex(await ctx.call(_hex_on_chain, ctx, txid))
    return web.Response(body=raw, content_type="application/octet-stream")


async def get_tx_status(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    txid = parse_hash(request.match_info["txid"], "txid")
    return web.json_response(await ctx.call(_status_on_chain, ctx, txid))


async def get_merkle_proof(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    txid = parse_hash(request.match_info["txid"], "txid")
    return web.json_response(await ctx.call(_merkle_proof_on_chain, ctx, txid))


def _orphan_verdict_on_chain(
    ctx: ApiContext, tx: Transaction, parents: tuple[bytes, ...]
) -> ApiError:
    """A REST client's transaction spent outputs the node does not have: take it back out of
    the orphan pool (REST submitters send parents first) and say whether the outputs were
    already spent in the chain (409) or are unknown (400)."""
    ctx.mempool.orphans.remove(tx.txid)
    index = ctx.index
    spent_in_chain = (
        index is not None
        and index.is_synced(ctx.chain)
        and any(index.tx_location(parent) is not None for parent in parents)
    )
    if spent_in_chain:
        return ApiError(409, "missing_inputs", "an input is already spent in the chain")
    return ApiError(400, "missing_inputs", "an input spends an output the node does not know")


async def _posted_tx(request: web.Request, ctx: ApiContext, *, count: bool) -> Transaction:
    """The transaction in a request's body (hex text); 400 if it is not one. A decoding
    failure is counted as a rejection when ``count``."""
    body = await read_body(request, ctx.settings.max_body_bytes)
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise bad_request("bad_hex", "the body must be the transaction as hex") from None
    data = parse_hex(text, "transaction")
    try:
        return Transaction.decode(data)
    except ConsensusError as exc:
        if count:
            ctx.metrics.record_tx_result(exc.code)
        raise bad_request(exc.code, str(exc)) from None


def max_fee_rate(request: web.Request) -> int | None:
    """``?maxfeerate=R`` (units/byte): refuse a fee above it, as Core's ``sendrawtransaction``
    (default :data:`DEFAULT_MAX_FEE_RATE`; 0: no limit)."""
    text = request.query.get("maxfeerate", str(DEFAULT_MAX_FEE_RATE))
    rate = parse_int(text, "maxfeerate", 0, MAX_MONEY)
    return rate or None


def _test_on_chain(ctx: ApiContext, tx: Transaction, now: int, cap: int | None) -> Json:
    try:
        result = ctx.mempool.test_accept(tx, now, cap)
    except (ConsensusError, MempoolError) as exc:
        return {
            "txid": tx.txid_hex,
            "allowed": False,
            "reject_reason": exc.code,
            "message": str(exc) or exc.code,
        }
    return {
        "txid": tx.txid_hex,
        "allowed": True,
        "fee": result.fee,
        "size": result.size,
        "fee_rate": round(result.fee / result.size, 3),
        "replaces": [hash_to_hex(txid) for txid in result.replaced],
    }


async def test_tx(request: web.Request) -> web.Response:
    """Core's ``testmempoolaccept``: whether ``POST /v1/tx`` would accept this transaction
    now, with its fee and what it would replace, or the code of the rule that refuses it.
    Nothing is stored, relayed or counted."""
    ctx = request.app[CONTEXT]
    cap = max_fee_rate(request)
    tx = await _posted_tx(request, ctx, count=False)
    return web.json_response(await ctx.call(_test_on_chain, ctx, tx, int(time.time()), cap))


async def post_tx(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    metrics = ctx.metrics
    cap = max_fee_rate(request)
    tx = await _posted_tx(request, ctx, count=True)
    try:
        result = await ctx.submitter.submit(tx, cap)
    except AlreadyInMempool:
        return web.Response(text=tx.txid_hex)
    except (ConsensusError, MempoolError) as exc:
        metrics.record_tx_result(exc.code)
        raise rejection(exc) from None
    if result.orphan:
        error = await ctx.call(_orphan_verdict_on_chain, ctx, tx, result.missing_parents)
        metrics.record_tx_result(error.code)
        raise error
    metrics.record_tx_result(None)
    return web.Response(text=tx.txid_hex)


def routes() -> list[web.RouteDef]:
    return [
        web.post("/v1/tx", post_tx),
        web.post("/v1/tx/test", test_tx),
        web.get("/v1/tx/{txid}", get_tx, allow_head=False),
        web.get("/v1/tx/{txid}/hex", get_tx_hex, allow_head=False),
        web.get("/v1/tx/{txid}/raw", get_tx_raw, allow_head=False),
        web.get("/v1/tx/{txid}/status", get_tx_status, allow_head=False),
        web.get("/v1/tx/{txid}/merkle-proof", get_merkle_proof, allow_head=False),
    ]
