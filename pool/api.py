"""The pool's HTTP API (aiohttp): ``/v1/pool``, ``/v1/pool/miners/{address}``,
``/v1/pool/blocks``, ``/v1/pool/shares`` and ``/metrics``.

May import aiohttp, consensus, the standard library and ``pool`` modules. Errors are always
``{"error": {"code": "snake_case", "message": "..."}}`` with a fitting status (400 bad input,
404 unknown path); bad input never yields a 500. Amounts and work are integers.
``/v1/pool/shares`` pages by share id (``after``) so a miner can download the whole log and
recompute every block's split (docs/pool.md has the formulas).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from consensus.addresses import decode_address
from consensus.errors import AddressError
from pool.metrics import CONTENT_TYPE
from pool.sharelog import LIVE_SQL
from pool.wire import target_to_difficulty

if TYPE_CHECKING:
    from pool.service import Pool

POOL: web.AppKey[Pool] = web.AppKey("pool", object)  # type: ignore[arg-type]
MAX_PAGE = 1000
Json = dict[str, Any]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def errors_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, "bad_request")
        return error_response(exc.status, code, exc.reason)


def _int_query(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ApiError(400, f"bad_{name}", f"{name} must be a whole number from {low} to {high}")
    return int(text)


def _address(pool: Pool, text: str) -> str:
    try:
        decode_address(text, pool.params.hrp)
    except AddressError as exc:
        raise ApiError(400, exc.code, str(exc)) from None
    return text.lower()


# --- database reads (on the share log's thread) -----------------------------------------------
_BLOCK_COLUMNS = (
    "hash, height, status, found_time, address, worker, scheme, window_start, window_end,"
    " reward, operator, operator_amount, operator_paid, share_id, job_id"
)
_BLOCK_KEYS = [c.strip() for c in _BLOCK_COLUMNS.split(",")]


def _blocks(db: sqlite3.Connection, limit: int, before_height: int) -> list[Json]:
    rows = db.execute(
        f"SELECT {_BLOCK_COLUMNS} FROM blocks WHERE height < ? ORDER BY height DESC,"
        " found_time DESC LIMIT ?",
        (before_height, limit),
    ).fetchall()
    blocks = []
    for row in rows:
        block = dict(zip(_BLOCK_KEYS, row, strict=True))
        block["credits"] = [
            {"address": a, "amount": amount, "paid": paid, "carry_delta": delta}
            for a, amount, paid, delta in db.execute(
                "SELECT address, amount, paid, carry_delta FROM credits WHERE block_hash = ?"
                " ORDER BY address",
                (block["hash"],),
            )
        ]
        blocks.append(block)
    return blocks


def _shares(db: sqlite3.Connection, address: str | None, after: int, limit: int) -> list[Json]:
    columns = "id, time, address, worker, difficulty, work, job_id, height, hash, block"
    if address is None:
        rows = db.execute(
            f"SELECT {columns} FROM shares WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
        ).fetchall()
    else:
        rows = db.execute(
            f"SELECT {columns} FROM shares WHERE address = ? AND id > ? ORDER BY id LIMIT ?",
            (address, after, limit),
        ).fetchall()
    keys = [c.strip() for c in columns.split(",")]
    result = []
    for row in rows:
        item = dict(zip(keys, row, strict=True))
        item["block"] = bool(item["block"])
        result.append(item)
    return result


def _miner(db: sqlite3.Connection, address: str) -> Json:
    count = db.execute("SELECT COUNT(*) FROM shares WHERE address = ?", (address,)).fetchone()[0]
    paid: dict[str, int] = {}
    for status, total in db.execute(
        "SELECT b.status, SUM(c.paid) FROM credits c JOIN blocks b ON b.hash = c.block_hash"
        " WHERE c.address = ? GROUP BY b.status",
        (address,),
    ):
        paid[status] = int(total or 0)
    found = db.execute(
        f"SELECT COUNT(*) FROM blocks WHERE address = ? AND status IN {LIVE_SQL}", (address,)
    ).fetchone()[0]
    return {
        "shares_total": int(count),
        "paid": {
            "confirmed": paid.get("confirmed", 0),
            "immature": paid.get("accepted", 0) + paid.get("pending", 0),
            "orphaned": paid.get("orphaned", 0),
        },
        "blocks_found": int(found),
    }


# --- handlers ---------------------------------------------------------------------------------
async def pool_info(request: web.Request) -> web.Response:
    pool = request.app[POOL]
    template = pool.jobs.template
    job = pool.jobs.current
    config = pool.config
    blocks = await pool.shares.call(_blocks, 10, 2**32)
    for block in blocks:
        block.pop("credits")
    return web.json_response(
        {
            "network": pool.params.name,
            "scheme": config.scheme,
            "pplns_n": config.pplns_n,
            "fee_percent": config.fee_ppm / 10_000,
            "operator": config.operator,
            "dust": config.dust,
            "prune_shares": config.prune_shares,
            "pruned_upto": pool.pruned_upto,
            "height": None if template is None else template.height,
            "network_difficulty": None
            if template is None
            else target_to_difficulty(template.target),
            "hashrate": pool.rates.hashrate(),
            "hashrate_window": pool.rates.window,
            "miners": len(pool.rates.miners()),
            "workers": pool.server.workers,
            "connections": len(pool.server.sessions),
            "round": {
                "start_share_id": pool.accounting.round_start,
                "last_share_id": pool.accounting.last_share_id,
                "work": sum(pool.accounting.round_work.values()),
            },
            "next_payout": None
            if job is None
            else [{"address": a, "value": v} for a, v in job.payout.payout.outputs],
            "last_blocks": blocks,
        }
    )


async def miner_info(request: web.Request) -> web.Response:
    pool = request.app[POOL]
    address = _address(pool, request.match_info["address"])
    summary = await pool.shares.call(_miner, address)
    job = pool.jobs.current_for(address)
    credit = None
    if job is not None:
        credit = next((c for c in job.payout.payout.credits if c.address == address), None)
    return web.json_response(
        {
            "address": address,
            "hashrate": pool.rates.hashrate(address),
            "workers": pool.rates.workers(address),
            "round_work": pool.accounting.round_work.get(address, 0),
            "carried": pool.accounting.carried.get(address, 0),
            "estimated_next_payout": 0 if job is None else job.payout.payout.paid_to(address),
            "next_block_credit": 0 if credit is None else credit.amount,
            **summary,
        }
    )


async def blocks_page(request: web.Request) -> web.Response:
    pool = request.app[POOL]
    limit = _int_query(request, "limit", 20, 1, 100)
    before = _int_query(request, "before_height", 2**32, 0, 2**32)
    blocks = await pool.shares.call(_blocks, limit, before)
    following = blocks[-1]["height"] if len(blocks) == limit else None
    return web.json_response({"blocks": blocks, "next_before_height": following})


async def shares_page(request: web.Request) -> web.Response:
    pool = request.app[POOL]
    text = request.query.get("address")
    address = None if text is None else _address(pool, text)
    after = _int_query(request, "after", 0, 0, 2**63 - 1)
    limit = _int_query(request, "limit", 100, 1, MAX_PAGE)
    shares = await pool.shares.call(_shares, address, after, limit)
    following = shares[-1]["id"] if len(shares) == limit else None
    return web.json_response(
        {"shares": shares, "next_after": following, "pruned_upto": pool.pruned_upto}
    )


async def metrics(request: web.Request) -> web.Response:
    pool = request.app[POOL]
    pool.metrics.hashrate.set(pool.rates.hashrate())
    pool.metrics.workers.set(pool.server.workers)
    return web.Response(body=pool.metrics.render(), headers={"Content-Type": CONTENT_TYPE})


def create_pool_api(pool: Pool) -> web.Application:
    app = web.Application(middlewares=[errors_middleware], client_max_size=64 * 1024)
    app[POOL] = pool
    app.add_routes(
        [
            web.get("/v1/pool", pool_info, allow_head=False),
            web.get("/v1/pool/miners/{address}", miner_info, allow_head=False),
            web.get("/v1/pool/blocks", blocks_page, allow_head=False),
            web.get("/v1/pool/shares", shares_page, allow_head=False),
            web.get("/metrics", metrics, allow_head=False),
        ]
    )
    return app
