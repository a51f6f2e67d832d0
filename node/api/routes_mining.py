"""Mining endpoints: ``GET /v1/mining/template``, ``POST /v1/mining/submit`` and, admin and
regtest only, ``POST /v1/mining/generate``.

May import aiohttp, consensus, node modules and the standard library. The template carries what
a solo miner (``seedchain mine``) and a Stratum pool need: the header fields, the transactions,
the reward, the coinbase rules and the coinbase's merkle branch (Stratum's ``merkle_branch``,
over ``[placeholder] + wtxids``: the branch of index 0 never depends on the coinbase). With
``?address=A`` it also carries a ready coinbase paying the whole reward to A (zero extranonce),
its Stratum cut ``coinb1``/``coinb2``, and the whole unsolved block: a solo miner only has to
search the header's nonce (bytes 76..80) and post the block back.

Long polling (BIP 22, as Core's ``getblocktemplate``): every template has a ``longpollid`` (its
tip's hash and the mempool's version). A request with ``?longpollid=`` answers at once if the
tip has moved on, else when it does, or after ``LONGPOLL_SECONDS``, with a fresh template
either way. A pool or miner that keeps one such request open hears of a block at once.
"""

from __future__ import annotations

import asyncio
import os
import re
import time

from aiohttp import web

from consensus.assemble import BLOCK_VERSION, solve_block
from consensus.block import Block
from consensus.coinbase import (
    EXTRANONCE1_SIZE,
    EXTRANONCE2_SIZE,
    EXTRANONCE_SIZE,
    MAX_TAG_SIZE,
    split_coinbase,
)
from consensus.errors import ConsensusError
from consensus.hashing import ZERO_HASH, hash_to_hex
from consensus.merkle import stratum_branch
from consensus.pow import compact_to_target
from consensus.transaction import TxOut
from node.api.context import CONTEXT, ApiContext
from node.api.errors import ApiError, bad_request
from node.api.guard import check_admin
from node.api.inputs import json_field, parse_address, parse_hex, read_json_object
from node.api.views import Json
from node.proposal import ProposalInconclusive, check_proposal
from node.template import COINBASE_RESERVE, BlockTemplate, make_template

COINBASE_TAG = b"seedchain"


LONGPOLL_SECONDS = 20.0  # at most, and never past two thirds of the request deadline
LONGPOLL_ID = re.compile(r"^[0-9a-f]{64}[0-9]{1,20}$")


def _template_on_chain(ctx: ApiContext, now: int) -> tuple[BlockTemplate, list[int], str]:
    """The template, its transactions' fees, and its ``longpollid``."""
    mempool = ctx.mempool
    template = make_template(
        ctx.chain.tip, mempool, ctx.params, now, ctx.node.config.template_policy
    )
    fees = []
    for tx in template.transactions:
        entry = mempool.get(tx.txid)
        fees.append(0 if entry is None else entry.fee)
    return template, fees, f"{template.parent.hash_hex}{mempool.version}"


async def _long_poll(ctx: ApiContext, longpollid: str) -> None:
    """Return once the tip is no longer the one ``longpollid`` names, or after the long-poll
    time (BIP 22's long polling, as Core's ``getblocktemplate``: a miner or pool asks again
    with the id of its template and hears of a new block at once instead of polling)."""
    if not LONGPOLL_ID.match(longpollid):
        raise bad_request("bad_longpollid", "longpollid must be one from an earlier template")
    changed = ctx.node.tip_changed_event()  # taken first: a change from now on sets it
    tip = await ctx.call(lambda: ctx.chain.tip.hash_hex)
    if tip != longpollid[:64]:
        return
    wait = min(LONGPOLL_SECONDS, ctx.settings.request_timeout * 2 / 3)
    await _first_of((changed, ctx.closing), wait)


async def _first_of(events: tuple[asyncio.Event, ...], seconds: float) -> None:
    """Until one of ``events`` is set, or ``seconds`` have passed."""
    async with asyncio.TaskGroup() as group:
        waits = [group.create_task(event.wait()) for event in events]
        try:
            async with asyncio.timeout(seconds):
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            pass
        finally:
            for task in waits:
                task.cancel()


def template_json(
    template: BlockTemplate, fees: list[int], lock: bytes | None, ctx: ApiContext, now: int
) -> Json:
    params = ctx.params
    txs = template.transactions
    branch = stratum_branch([ZERO_HASH, *(tx.wtxid for tx in txs)])
    result: Json = {
        "height": template.height,
        "previous_hash": template.parent.hash_hex,
        "version": BLOCK_VERSION,
        "bits": template.bits,
        "bits_hex": f"{template.bits:08x}",
        "target": f"{compact_to_target(template.bits):064x}",
        "time": template.time,
        "min_time": template.parent.median_time_past + 1,
        "max_time": now + params.max_future_block_time,
        "transactions": [
            {
                "data": tx.encoded.hex(),
                "txid": tx.txid_hex,
                "wtxid": hash_to_hex(tx.wtxid),
                "fee": fee,
                "size": tx.size,
            }
            for tx, fee in zip(txs, fees, strict=True)
        ],
        "fees": template.fees,
        "subsidy": template.reward - template.fees,
        "reward": template.reward,
        "size_limit": params.max_block_size,
        "coinbase": {
            "height": template.height,
            "height_le": template.height.to_bytes(4, "little").hex(),
            "extranonce_size": EXTRANONCE_SIZE,
            "extranonce1_size": EXTRANONCE1_SIZE,
            "extranonce2_size": EXTRANONCE2_SIZE,
            "max_tag_size": MAX_TAG_SIZE,
            "max_size": COINBASE_RESERVE,
            "maturity": params.coinbase_maturity,
        },
        "merkle_branch": [hash_to_hex(h) for h in branch],
    }
    if lock is not None:
        block = template.block([TxOut(template.reward, lock)], tag=COINBASE_TAG)
        coinbase = block.transactions[0]
        coinb1, coinb2 = split_coinbase(coinbase)
        result.update(
            {
                "coinbase_tx": coinbase.encoded.hex(),
                "coinb1": coinb1.hex(),
                "coinb2": coinb2.hex(),
                "merkle_root": hash_to_hex(block.header.merkle_root),
                "header": block.header.encoded.hex(),
                "block": block.encoded.hex(),
            }
        )
    return result


async def template(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    text = request.query.get("address")
    lock = None if text is None else parse_address(text, ctx.params.hrp)
    ctx.check_synced()
    longpollid = request.query.get("longpollid")
    if longpollid is not None:
        await _long_poll(ctx, longpollid)
    now = int(time.time())
    found, fees, next_id = await ctx.call(_template_on_chain, ctx, now)
    return web.json_response({**template_json(found, fees, lock, ctx, now), "longpollid": next_id})


async def _posted_block(request: web.Request, ctx: ApiContext) -> Block:
    data = await read_json_object(request, ctx.settings.max_block_body_bytes)
    raw = parse_hex(json_field(data, "block", str), "block")
    try:
        return Block.decode(raw, ctx.params.max_block_size)
    except ConsensusError as exc:
        raise bad_request(exc.code, str(exc)) from None


def _proposal_on_chain(ctx: ApiContext, block: Block, now: int) -> Json:
    try:
        check_proposal(ctx.chain, block, now)
    except (ConsensusError, ProposalInconclusive) as exc:
        return {"hash": block.hash_hex, "valid": False, "reason": exc.code, "message": str(exc)}
    return {"hash": block.hash_hex, "valid": True, "reason": None, "message": None}


async def proposal(request: web.Request) -> web.Response:
    """BIP 23's block proposal: every rule but the proof of work, on our tip; nothing kept."""
    ctx = request.app[CONTEXT]
    block = await _posted_block(request, ctx)
    return web.json_response(await ctx.call(_proposal_on_chain, ctx, block, int(time.time())))


async def submit(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    block = await _posted_block(request, ctx)
    try:
        result = await ctx.node.submit_block(block)
    except ConsensusError as exc:
        raise bad_request(exc.code, str(exc) or exc.code) from None
    height = None if result.entry is None else result.entry.height
    return web.json_response({"hash": block.hash_hex, "height": height, "status": result.status})


def _solved(template: BlockTemplate, lock: bytes) -> Block:
    while True:
        candidate = template.block(
            [TxOut(template.reward, lock)], extranonce=os.urandom(EXTRANONCE_SIZE), tag=b"generate"
        )
        solved = solve_block(candidate)
        if solved is not None:
            return solved


async def generate(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    check_admin(request, ctx.token)
    if ctx.params.name != "regtest":
        raise ApiError(403, "not_regtest", "blocks are generated on demand only on regtest")
    data = await read_json_object(request, 4096)
    count = json_field(data, "blocks", int)
    if not 1 <= count <= ctx.settings.max_generate:
        raise bad_request("bad_blocks", f"blocks must be from 1 to {ctx.settings.max_generate}")
    lock = parse_address(json_field(data, "address", str), ctx.params.hrp)
    hashes = []
    for _ in range(count):
        found, _fees, _id = await ctx.call(_template_on_chain, ctx, int(time.time()))
        block = _solved(found, lock)
        try:
            await ctx.node.submit_block(block)
        except ConsensusError as exc:  # our own template: a bug, not bad input
            raise ApiError(500, "generate_failed", f"{exc.code}: {exc}") from None
        hashes.append(block.hash_hex)
    return web.json_response(hashes)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/v1/mining/template", template, allow_head=False),
        web.post("/v1/mining/submit", submit),
        web.post("/v1/mining/proposal", proposal),
        web.post("/v1/mining/generate", generate),
    ]
