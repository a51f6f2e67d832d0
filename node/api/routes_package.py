"""``POST /v1/txs/package``: Bitcoin Core's ``submitpackage``, a child with its unconfirmed
parents judged together, so that the child can pay for a parent under the fee floor
(``node.mempool_package`` has the rules).

May import aiohttp, consensus, node modules and the standard library. The body is JSON,
``{"txs": ["<hex>", ...]}``, parents first and the child last (at most 25 transactions and
the API's body limit). A package of the wrong shape, or a transaction that does not decode, is
400; otherwise 200 with each transaction's outcome, in package order, and the package fee rate
when it was judged as one. What went in is announced to peers as ``POST /v1/tx`` does; peers
without package relay refuse a parent under their floor, so such a package is mined by this
node (its templates, miner and pool), as Core's before package relay.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from aiohttp import web

from consensus.errors import ConsensusError
from consensus.hashing import hash_to_hex
from consensus.transaction import Transaction
from node.api.context import CONTEXT, ApiContext
from node.api.errors import ApiError, bad_request
from node.api.inputs import json_field, parse_hex, read_json_object
from node.api.views import Json
from node.mempool_errors import PackageError
from node.mempool_package import MAX_PACKAGE_COUNT, PackageResult
from node.mempool_types import AcceptResult


def _decode(texts: list[object]) -> list[Transaction]:
    if not 1 <= len(texts) <= MAX_PACKAGE_COUNT or not all(isinstance(t, str) for t in texts):
        raise bad_request("bad_field", f"'txs' must list 1 to {MAX_PACKAGE_COUNT} hex strings")
    txs = []
    for index, text in enumerate(texts):
        try:
            txs.append(Transaction.decode(parse_hex(str(text), "transaction")))
        except ConsensusError as exc:
            raise bad_request(exc.code, f"transaction {index}: {exc}") from None
    return txs


def _package_on_chain(ctx: ApiContext, txs: Sequence[Transaction], now: int) -> PackageResult:
    try:
        return ctx.mempool.accept_package(txs, now)
    except PackageError as exc:
        raise ApiError(400, exc.code, str(exc)) from None


def _outcome(tx: Transaction, outcome: object) -> Json:
    item: Json = {"txid": tx.txid_hex, "accepted": isinstance(outcome, AcceptResult)}
    if isinstance(outcome, AcceptResult):
        item.update(fee=outcome.fee, size=outcome.size, error=None)
    elif outcome is None:
        item.update(fee=None, size=tx.size, error=None)  # not tried: an earlier one failed
    else:
        code = getattr(outcome, "code", "rejected")
        item.update(fee=None, size=tx.size, error={"code": code, "message": str(outcome)})
    return item


async def post_package(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    data = await read_json_object(request, ctx.settings.max_body_bytes)
    txs = _decode(json_field(data, "txs", list))
    result = await ctx.call(_package_on_chain, ctx, txs, int(time.time()))
    announced = [*result.accepted, *(r.txid for r in result.accepted_orphans)]
    netsync = getattr(ctx.node, "netsync", None)
    if netsync is not None and announced:
        netsync.txrelay.broadcast_own(announced)
    for outcome in result.outcomes:
        if isinstance(outcome, AcceptResult):
            ctx.metrics.record_tx_result(None)
        elif outcome is not None:
            ctx.metrics.record_tx_result(getattr(outcome, "code", "rejected"))
    return web.json_response(
        {
            "results": [_outcome(tx, o) for tx, o in zip(txs, result.outcomes, strict=True)],
            "package_fee_rate": None
            if result.package_fee_rate is None
            else round(result.package_fee_rate, 3),
            "accepted_orphans": [hash_to_hex(r.txid) for r in result.accepted_orphans],
        }
    )


def routes() -> list[web.RouteDef]:
    return [web.post("/v1/txs/package", post_package)]
