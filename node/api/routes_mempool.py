"""Mempool and fee endpoints: ``/v1/mempool``, ``/v1/mempool/txids``, ``/v1/mempool/recent``,
``/v1/mempool/tx/{txid}`` with its ``/ancestors`` and ``/descendants``, ``/v1/fee-estimates``.

May import aiohttp, consensus, node modules and the standard library. Shapes are Esplora's:
fee-rates are base units per byte (no witness discount: ``vsize`` is the size).
"""

from __future__ import annotations

from aiohttp import web

from consensus.hashing import hash_to_hex
from node.api.context import CONTEXT, ApiContext
from node.api.errors import ApiError
from node.api.inputs import parse_flag, parse_hash
from node.api.views import Json

RECENT_COUNT = 10  # Esplora's


def _mempool_on_chain(ctx: ApiContext) -> Json:
    mempool = ctx.mempool
    total_fee = sum(entry.fee for entry in mempool.graph.entries.values())
    return {
        "count": len(mempool),
        "vsize": mempool.bytes,
        "bytes": mempool.bytes,
        "total_fee": total_fee,
        "min_fee_rate": max(float(mempool.policy.min_relay_fee_rate), mempool.min_fee_rate()),
        "fee_histogram": [[rate, size] for rate, size in mempool.fee_histogram()],
    }


async def mempool_info(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    return web.json_response(await ctx.call(_mempool_on_chain, ctx))


def _txids_on_chain(ctx: ApiContext) -> list[str]:
    return [hash_to_hex(txid) for txid in ctx.mempool.txids()]


async def mempool_txids(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    return web.json_response(await ctx.call(_txids_on_chain, ctx))


def _recent_on_chain(ctx: ApiContext) -> list[Json]:
    return [
        {
            "txid": entry.tx.txid_hex,
            "fee": entry.fee,
            "vsize": entry.size,
            "value": entry.tx.total_out(),
        }
        for entry in ctx.mempool.recent(RECENT_COUNT)
    ]


async def mempool_recent(request: web.Request) -> web.Response:
    """Esplora's ``/mempool/recent``: the last 10 transactions to enter, newest first."""
    ctx = request.app[CONTEXT]
    return web.json_response(await ctx.call(_recent_on_chain, ctx))


def _entry_on_chain(ctx: ApiContext, txid: bytes) -> Json:
    entry = ctx.mempool.graph.entries.get(txid)
    if entry is None:
        raise ApiError(404, "tx_not_found", "no such transaction in the mempool")
    return {
        "txid": entry.tx.txid_hex,
        "wtxid": hash_to_hex(entry.tx.wtxid),
        "vsize": entry.size,
        "weight": 4 * entry.size,
        "time": entry.time,
        "height": entry.height,
        "fee": entry.fee,
        "modified_fee": entry.modified_fee,
        "fee_rate": round(entry.fee_rate, 3),
        "ancestor_count": entry.ancestor_count,
        "ancestor_size": entry.ancestor_size,
        "ancestor_fees": entry.ancestor_fees,
        "descendant_count": entry.descendant_count,
        "descendant_size": entry.descendant_size,
        "descendant_fees": entry.descendant_fees,
        "depends": sorted(hash_to_hex(parent) for parent in entry.parents),
        "spentby": sorted(hash_to_hex(child) for child in entry.children),
        "bip125_replaceable": True,  # full RBF: any mempool transaction can be replaced
    }


async def mempool_entry(request: web.Request) -> web.Response:
    """Bitcoin Core's ``getmempoolentry``: one mempool transaction with its fee, its in-mempool
    ancestors and descendants (counts, sizes and fees, each including itself), its parents
    (``depends``) and children (``spentby``), and whether peers have yet to ask for it."""
    ctx = request.app[CONTEXT]
    txid = parse_hash(request.match_info["txid"], "txid")
    entry = await ctx.call(_entry_on_chain, ctx, txid)
    netsync = getattr(ctx.node, "netsync", None)
    entry["unbroadcast"] = netsync is not None and txid in netsync.txrelay.unbroadcast
    return web.json_response(entry)


def _relatives_on_chain(
    ctx: ApiContext, txid: bytes, which: str, verbose: bool
) -> list[tuple[bytes, Json | None]]:
    graph = ctx.mempool.graph
    entry = graph.entries.get(txid)
    if entry is None:
        raise ApiError(404, "tx_not_found", "no such transaction in the mempool")
    if which == "ancestors":
        found = graph.ancestors_of(entry.parents) if entry.parents else set()
    else:
        found = graph.descendants(txid)
    # parents first: an ancestor has fewer in-mempool ancestors than any of its descendants
    ordered = sorted(found, key=lambda t: (graph.entries[t].ancestor_count, t[::-1]))
    return [(t, _entry_on_chain(ctx, t) if verbose else None) for t in ordered]


async def mempool_ancestors(request: web.Request) -> web.Response:
    """Bitcoin Core's ``getmempoolancestors``."""
    return await _relatives(request, "ancestors")


async def mempool_descendants(request: web.Request) -> web.Response:
    """Bitcoin Core's ``getmempooldescendants``."""
    return await _relatives(request, "descendants")


async def _relatives(request: web.Request, which: str) -> web.Response:
    """The txids of a mempool transaction's in-mempool ancestors or descendants (not itself),
    parents first; with ``?verbose=true`` each as ``GET /v1/mempool/tx/{txid}`` shows it."""
    ctx = request.app[CONTEXT]
    txid = parse_hash(request.match_info["txid"], "txid")
    verbose = parse_flag(request.query.get("verbose", "false"), "verbose")
    found = await ctx.call(_relatives_on_chain, ctx, txid, which, verbose)
    if not verbose:
        return web.json_response([hash_to_hex(t) for t, _ in found])
    netsync = getattr(ctx.node, "netsync", None)
    unbroadcast = netsync.txrelay.unbroadcast if netsync is not None else frozenset()
    return web.json_response(
        [{**entry, "unbroadcast": t in unbroadcast} for t, entry in found if entry is not None]
    )


def _estimates_on_chain(ctx: ApiContext) -> dict[str, float]:
    return {str(target): rate for target, rate in ctx.mempool.fee_estimates().items()}


async def fee_estimates(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    ctx.check_synced()
    return web.json_response(await ctx.call(_estimates_on_chain, ctx))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/v1/mempool", mempool_info, allow_head=False),
        web.get("/v1/mempool/txids", mempool_txids, allow_head=False),
        web.get("/v1/mempool/recent", mempool_recent, allow_head=False),
        web.get("/v1/mempool/tx/{txid}", mempool_entry, allow_head=False),
        web.get("/v1/mempool/tx/{txid}/ancestors", mempool_ancestors, allow_head=False),
        web.get("/v1/mempool/tx/{txid}/descendants", mempool_descendants, allow_head=False),
        web.get("/v1/fee-estimates", fee_estimates, allow_head=False),
    ]
