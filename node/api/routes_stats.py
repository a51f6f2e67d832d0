"""Statistics endpoints, after Bitcoin Core's RPCs of the same purpose:

* ``GET /v1/mining/info`` (``getmininginfo`` with ``getnetworkhashps``): the tip's and the next
  block's difficulty, the network's hash rate over the last ``blocks`` blocks, the node's own
  miner;
* ``GET /v1/chain/utxo-set`` (``gettxoutsetinfo``): the UTXO set's size, the coins it holds
  against the coins issued, and its hash. One scan at a time, read from a snapshot off the
  chain thread (``node.utxostats``); its result is kept until the tip moves, so asking again
  at the same tip costs nothing;
* ``GET /v1/block/{hash}/stats`` (``getblockstats``): fees, fee rates and sizes of a block's
  transactions, from the block and its undo data (the coins it spent);
* admin ``POST /v1/chain/scan`` (``scantxoutset``): the unspent outputs of up to 100 addresses,
  found in the UTXO set itself, so it needs no address index and works on a pruned node. One
  scan at a time on the same thread as the UTXO statistics; 409 ``scan_in_progress`` while
  one runs.

May import aiohttp, consensus, node modules and the standard library. The functions named
``_..._on_chain`` run on the chain thread (through ``ctx.call``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from aiohttp import web

from consensus.addresses import lock_to_address
from consensus.block import Block
from consensus.block_rules import next_bits
from consensus.coinbase import block_subsidy
from consensus.hashing import hash_to_hex
from consensus.pow import compact_to_target
from consensus.utxo import BlockUndo
from node.api.context import CONTEXT, ApiContext
from node.api.errors import ApiError
from node.api.guard import check_admin
from node.api.inputs import address_locks, parse_hash, parse_int, read_json_object
from node.api.routes_chain import entry_or_404, no_block_data
from node.api.views import Json, difficulty
from node.blockindex import ChainEntry
from node.storage import StorageError
from node.utxostats import UtxoMatches, UtxoSetStats, open_snapshot

HASHPS_BLOCKS_DEFAULT, HASHPS_BLOCKS_MAX = 120, 10_000  # Core's getnetworkhashps default
PERCENTILES = (10, 25, 50, 75, 90)
MAX_SCAN_ADDRESSES = 100
MAX_SCAN_BODY = 16 * 1024  # 100 addresses of ~45 characters, quoted, with room


def _target_hex(bits: int) -> str:
    return f"{compact_to_target(bits):064x}"


def network_hashps(window: Sequence[ChainEntry]) -> float:
    """Core's ``getnetworkhashps`` over ``window`` (consecutive entries of one chain, oldest
    first): the work of all but the first over the span of their timestamps, earliest to
    latest (so out-of-order times do not shrink it); 0 for a window without a span."""
    if len(window) < 2:
        return 0.0
    times = [entry.header.time for entry in window]
    span = max(times) - min(times)
    return (window[-1].chainwork - window[0].chainwork) / span if span > 0 else 0.0


def _mining_info_on_chain(ctx: ApiContext, blocks: int) -> Json:
    chain, params = ctx.chain, ctx.params
    tip = chain.tip
    used = min(blocks, tip.height)
    hashps = network_hashps(chain.active[tip.height - used :])
    bits = next_bits(tip, params)
    return {
        "network": params.name,
        "height": tip.height,
        "bits": tip.header.bits,
        "difficulty": difficulty(tip.header.bits, params),
        "target": _target_hex(tip.header.bits),
        "networkhashps": hashps,
        "hashps_blocks": used,
        "next": {
            "height": tip.height + 1,
            "bits": bits,
            "difficulty": difficulty(bits, params),
            "target": _target_hex(bits),
            "subsidy": block_subsidy(tip.height + 1, params.halving_interval),
        },
        "mempool": {"count": len(ctx.mempool), "bytes": ctx.mempool.bytes},
    }


async def mining_info(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    text = request.query.get("blocks")
    blocks = (
        HASHPS_BLOCKS_DEFAULT if text is None else parse_int(text, "blocks", 1, HASHPS_BLOCKS_MAX)
    )
    info = await ctx.call(_mining_info_on_chain, ctx, blocks)
    miner = getattr(ctx.node, "miner", None)
    info["local"] = {
        "mining": miner is not None,
        "hashps": round(ctx.miner_hashps(), 1),
        "threads": miner.threads if miner is not None else 0,
        "blocks_found": miner.blocks_found if miner is not None else 0,
    }
    return web.json_response(info)


class UtxoStatsJob:
    """One UTXO set scan at a time, on its own thread; the last result is kept until the tip
    moves. A scan, once its snapshot is open, always runs to the end and closes it (an open
    read transaction would keep SQLite from checkpointing), even if every client has gone."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._last: UtxoSetStats | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="utxo-scan")
        self._finding: Future[UtxoMatches] | None = None

    async def get(self, ctx: ApiContext) -> UtxoSetStats:
        async with self._lock:
            last, tip = self._last, ctx.tip
            if last is not None and tip is not None and last.best_block_hex == tip.hash_hex:
                return last
            scan = await ctx.call(self._start_on_chain, ctx)
            self._last = await asyncio.shield(asyncio.wrap_future(scan))
            return self._last

    def _start_on_chain(self, ctx: ApiContext) -> Future[UtxoSetStats]:
        snapshot = open_snapshot(ctx.chain)
        try:
            return self._pool.submit(snapshot.scan)
        except BaseException:  # the pool is shut down: the server is closing
            snapshot.close()
            raise

    async def find(self, ctx: ApiContext, locks: frozenset[bytes]) -> UtxoMatches:
        """The unspent outputs of ``locks`` (409 while another such scan runs)."""
        if self._finding is not None and not self._finding.done():
            raise ApiError(409, "scan_in_progress", "a scan is running; try again when it ends")
        self._finding = await ctx.call(self._find_on_chain, ctx, locks)
        return await asyncio.shield(asyncio.wrap_future(self._finding))

    def _find_on_chain(self, ctx: ApiContext, locks: frozenset[bytes]) -> Future[UtxoMatches]:
        snapshot = open_snapshot(ctx.chain)
        try:
            return self._pool.submit(snapshot.find, locks)
        except BaseException:
            snapshot.close()
            raise

    async def on_cleanup(self, _app: web.Application) -> None:
        self._pool.shutdown(wait=False)


UTXO_STATS = web.AppKey("utxo_stats", UtxoStatsJob)


async def utxo_set(request: web.Request) -> web.Response:
    stats = await request.app[UTXO_STATS].get(request.app[CONTEXT])
    return web.json_response(stats.to_json())


async def scan_utxos(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    check_admin(request, ctx.token)
    data = await read_json_object(request, MAX_SCAN_BODY)
    hrp = ctx.params.hrp
    locks = address_locks(data, hrp, MAX_SCAN_ADDRESSES)
    found = await request.app[UTXO_STATS].find(ctx, locks)
    unspents = [
        {
            "txid": hash_to_hex(key[:32]),
            "vout": int.from_bytes(key[32:36], "big"),
            "address": lock_to_address(coin.lock, hrp),
            "value": coin.value,
            "height": coin.height,
            "coinbase": coin.coinbase,
        }
        for key, coin in found.coins
    ]
    return web.json_response(
        {
            "height": found.height,
            "bestblock": hash_to_hex(found.best_block),
            "unspents": unspents,
            "total_amount": found.total_amount,
        }
    )


def _block_stats_on_chain(ctx: ApiContext, block_hash: bytes) -> Json:
    chain = ctx.chain
    entry = entry_or_404(ctx, block_hash)
    block = chain.get_block(block_hash)
    if block is None:
        raise no_block_data(ctx, entry)
    try:
        undo = chain.store.get_undo(block_hash)
    except StorageError:
        raise ApiError(
            404, "block_not_connected", "the block was never connected: its fees are unknown"
        ) from None
    return block_stats(block, undo, entry.height, ctx.params.halving_interval) | {
        "blockhash": entry.hash_hex,
        "time": entry.header.time,
        "mediantime": entry.median_time_past,
        "in_best_chain": chain.is_active(entry),
    }


def block_stats(block: Block, undo: BlockUndo, height: int, halving_interval: int) -> Json:
    """Core's ``getblockstats`` fields for ``block`` at ``height``; ``undo`` holds the coins
    each non-coinbase transaction spent, in order. Sizes and totals leave the coinbase out,
    as Core's; fee rates are base units per byte."""
    spends = block.transactions[1:]
    fees = [
        sum(coin.value for coin in coins) - tx.total_out()
        for tx, coins in zip(spends, undo, strict=True)
    ]
    sizes = [tx.size for tx in spends]
    rates = sorted((fee / size, size) for fee, size in zip(fees, sizes, strict=True))
    total_size, total_fee = sum(sizes), sum(fees)
    count = len(spends)
    ins = sum(len(tx.inputs) for tx in spends)
    outs = sum(len(tx.outputs) for tx in block.transactions)
    return {
        "height": height,
        "txs": len(block.transactions),
        "ins": ins,
        "outs": outs,
        "utxo_increase": outs - ins,
        "total_size": total_size,
        "total_out": sum(tx.total_out() for tx in spends),
        "subsidy": block_subsidy(height, halving_interval),
        "coinbase_out": block.transactions[0].total_out(),
        "totalfee": total_fee,
        "avgfee": total_fee // count if count else 0,
        "minfee": min(fees, default=0),
        "maxfee": max(fees, default=0),
        "medianfee": _median(sorted(fees)),
        "avgfeerate": round(total_fee / total_size, 3) if total_size else 0.0,
        "minfeerate": round(rates[0][0], 3) if rates else 0.0,
        "maxfeerate": round(rates[-1][0], 3) if rates else 0.0,
        "feerate_percentiles": _weighted_percentiles(rates, total_size),
        "avgtxsize": total_size // count if count else 0,
        "mintxsize": min(sizes, default=0),
        "maxtxsize": max(sizes, default=0),
        "mediantxsize": _median(sorted(sizes)),
    }


def _median(values: list[int]) -> int:
    """Core's: the middle value, or the mean of the two middle ones (rounded down)."""
    if not values:
        return 0
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) // 2


def _weighted_percentiles(rates: list[tuple[float, int]], total_size: int) -> list[float]:
    """Core's ``feerate_percentiles``: the fee rate below which lie 10, 25, 50, 75 and 90% of
    the block's bytes (``rates`` sorted ascending as ``(fee rate, size)``)."""
    if not rates:
        return [0.0] * len(PERCENTILES)
    result: list[float] = []
    cumulative = 0
    index = 0
    for percent in PERCENTILES:
        threshold = total_size * percent / 100
        while index < len(rates) and cumulative + rates[index][1] < threshold:
            cumulative += rates[index][1]
            index += 1
        result.append(round(rates[min(index, len(rates) - 1)][0], 3))
    return result


async def block_stats_endpoint(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    block_hash = parse_hash(request.match_info["hash"], "block hash")
    return web.json_response(await ctx.call(_block_stats_on_chain, ctx, block_hash))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/v1/mining/info", mining_info, allow_head=False),
        web.get("/v1/chain/utxo-set", utxo_set, allow_head=False),
        web.post("/v1/chain/scan", scan_utxos),
        web.get("/v1/block/{hash}/stats", block_stats_endpoint, allow_head=False),
    ]
