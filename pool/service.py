"""The pool: wires the share log, accounting, jobs, the Stratum server, block keeping and the
API, and follows the node.

May import aiohttp, consensus, structlog, the standard library and ``pool`` modules. Every task
lives in the TaskGroup of :meth:`Pool.run`, which lasts until cancelled and closes the database
and the node client in ``finally``. Start-up: open the log, wait for the node (checking it runs
the same network), rebuild the accounting from the log, settle blocks left pending by a crash,
make the first job, then listen.

Following the node: one template request is kept long-polled (BIP 22: the node answers when its
tip changes), so a new block reaches the miners at once; the tip is also polled every
``tip_poll_interval`` seconds (``GET /v1/blocks/tip/hash``), for nodes without long polling. A
new tip, our own accepted block, or ``template_interval`` seconds make the pool fetch a
template. A new tip sends every miner a clean job; otherwise a job is sent only
if the template's content or the payout split changed, or the current job is
``job_refresh_interval`` seconds old (``clean_jobs=false``).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from aiohttp import web

from consensus.hashing import hash_to_hex
from pool.accounting import Accounting
from pool.api import create_pool_api
from pool.blocks import BlockKeeper
from pool.config import PoolConfig
from pool.errors import ConfigError, NodeError
from pool.jobs import JobManager
from pool.metrics import PoolMetrics
from pool.nodeclient import HttpNodeClient, NodeClient, Template
from pool.retention import KEEP_SECONDS, PRUNE_BATCH, Needs, prune_batch, prune_floor, pruned_upto
from pool.server import StratumServer
from pool.session import AcceptedShare
from pool.sharelog import ShareLog, ShareRecord
from pool.stats import RateMeter
from pool.wire import target_work

T = TypeVar("T")
log = structlog.get_logger("seedchain.pool")
NODE_RETRY_MAX = 10.0
LONGPOLL_RETRY = 5.0  # seconds before long polling again (no longpollid, or an error)


class Pool:
    def __init__(
        self,
        config: PoolConfig,
        node: NodeClient | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.params = config.params
        self.node: NodeClient = node or HttpNodeClient(config.node_url)
        self.clock = clock
        self.metrics = PoolMetrics()
        self.shares = ShareLog(config.database)
        self.accounting = Accounting(
            self.shares,
            scheme=config.scheme,
            operator=config.operator,
            fee_ppm=config.fee_ppm,
            pplns_n=config.pplns_n,
            dust=config.dust,
            max_outputs=config.max_outputs,
        )
        self.rates = RateMeter(config.hashrate_window, clock)
        self.jobs = JobManager(
            self.params,
            self.accounting,
            tag=config.tag,
            refresh_interval=config.job_refresh_interval,
            clock=clock,
        )
        self.server = StratumServer(
            self.params, config.stratum, self.jobs, self, self.metrics, clock=clock
        )
        self.blocks = BlockKeeper(
            self.node,
            self.shares,
            self.accounting,
            self.jobs,
            self.metrics,
            maturity=self.params.coinbase_maturity,
            on_accepted=self.wake,
            clock=clock,
        )
        self.started = asyncio.Event()
        self.api_port: int | None = None
        self._wake = asyncio.Event()
        self._handed: Template | None = None  # a long-polled template on a new tip
        self._api_started = asyncio.Event()
        self.pruned_upto = 0  # every share with an id up to this is pruned (--prune-shares)

    @property
    def stratum_port(self) -> int | None:
        return self.server.port

    def wake(self) -> None:
        """Fetch a template now (our block was accepted: the tip is about to change)."""
        self._wake.set()

    # --- the share sink -------------------------------------------------------------------------
    async def accept_share(self, share: AcceptedShare) -> None:
        record = ShareRecord(
            time=share.time,
            address=share.address,
            worker=share.worker,
            difficulty=share.difficulty,
            work=target_work(share.share_target),
            job_id=share.job.job_id,
            height=share.job.height,
            hash=hash_to_hex(share.checked.hash),
            is_block=share.checked.is_block,
        )
        if share.checked.is_block:
            await self.blocks.found(share, record)
        else:
            await self.shares.append(record)

    # --- lifecycle ------------------------------------------------------------------------------
    async def run(self) -> None:
        config = self.config
        await self.shares.open(self.params.name)
        self.pruned_upto = await self.shares.call(pruned_upto)
        self.metrics.pruned_upto.set(self.pruned_upto)
        self.shares.listeners.extend([self.accounting.on_shares, self.rates.on_shares])
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self.shares.run(), name="pool-sharelog")
                await self._connect_node()
                await self.accounting.load()
                await self.rates.load(self.shares)
                await self._settle()
                await self._apply(await self._retry(self.node.template))
                tasks.create_task(self.server.run(*config.stratum_bind), name="pool-stratum")
                await self.server.started.wait()
                if config.api_bind is not None:
                    tasks.create_task(self._serve_api(*config.api_bind), name="pool-api")
                    await self._api_started.wait()
                tasks.create_task(self._follow_node(), name="pool-follow")
                tasks.create_task(self._long_poll(), name="pool-longpoll")
                tasks.create_task(self._settle_loop(), name="pool-settle")
                if config.prune_shares:
                    tasks.create_task(self._prune_loop(), name="pool-prune")
                log.info(
                    "pool_started",
                    network=self.params.name,
                    scheme=config.scheme,
                    stratum_port=self.server.port,
                    api_port=self.api_port,
                    operator=config.operator,
                )
                self.started.set()
        finally:
            await self.shares.aclose()
            await self.node.aclose()
            log.info("pool_stopped")

    async def _retry(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call()`` until the node answers, backing off up to ``NODE_RETRY_MAX`` seconds."""
        delay = 0.5
        while True:
            try:
                return await call()
            except NodeError as exc:
                self.metrics.node_errors.inc()
                log.warning("pool_node_unavailable", error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(NODE_RETRY_MAX, delay * 2)

    async def _connect_node(self) -> None:
        chain = await self._retry(self.node.chain)
        if chain.network != self.params.name:
            raise ConfigError(f"the node runs {chain.network}, the pool {self.params.name}")
        log.info("pool_node_connected", url=self.config.node_url, height=chain.height)

    async def _serve_api(self, host: str, port: int) -> None:
        runner = web.AppRunner(create_pool_api(self), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port, reuse_address=True)
            await site.start()
            self.api_port = int(runner.addresses[0][1])
            log.info("pool_api_listening", host=host, port=self.api_port)
            self._api_started.set()
            await asyncio.Future()  # until cancelled
        finally:
            await runner.cleanup()

    # --- following the node -----------------------------------------------------------------------
    async def _follow_node(self) -> None:
        config = self.config
        last_template = time.monotonic()
        delay = config.tip_poll_interval
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            woken = self._wake.is_set()
            self._wake.clear()
            handed, self._handed = self._handed, None
            try:
                if handed is not None:  # the long poll's template, on the new tip: no refetch
                    last_template = time.monotonic()
                    await self._apply(handed)
                    continue
                tip = await self.node.tip_hash()
                current = self.jobs.template
                due = time.monotonic() - last_template >= config.template_interval
                if woken or due or current is None or tip != current.previous_hash_hex:
                    template = await self.node.template()
                    last_template = time.monotonic()
                    await self._apply(template)
                delay = config.tip_poll_interval
            except NodeError as exc:
                self.metrics.node_errors.inc()
                log.warning("pool_node_error", error=str(exc))
                delay = min(NODE_RETRY_MAX, max(delay * 2, config.tip_poll_interval))

    async def _long_poll(self) -> None:
        """Hear of a new block at once: keep one long-polled template request open (BIP 22; the
        node answers when its tip changes) and hand the follow loop that template when the tip
        moved (it applies it, so that ``_apply`` never runs twice at once). With a node that
        gives no ``longpollid``, or after an error, polling alone does it."""
        longpollid: str | None = None
        while True:
            if longpollid is None:
                current = self.jobs.template
                longpollid = None if current is None else current.longpollid
                if longpollid is None:
                    await asyncio.sleep(LONGPOLL_RETRY)
                    continue
            try:
                fresh = await self.node.template(longpollid)
            except NodeError as exc:
                log.debug("pool_longpoll_failed", error=str(exc))
                longpollid = None
                await asyncio.sleep(LONGPOLL_RETRY)
                continue
            if fresh.previous_hash_hex != longpollid[:64]:
                self._handed = fresh
                self._wake.set()
            longpollid = fresh.longpollid

    async def _apply(self, template: Template) -> None:
        current = self.jobs.template
        if current is None or current.previous_hash != template.previous_hash:
            await self._settle()  # credits of orphaned blocks must not be paid again
        new_tip, changed = await self.jobs.update(template)
        if not changed:
            return
        self.metrics.height.set(template.height)
        self.metrics.jobs.labels("clean" if new_tip else "refresh").inc()
        sent = await self.server.broadcast(clean=new_tip)
        log.debug(
            "pool_job",
            height=template.height,
            clean=new_tip,
            connections=sent,
            job=None if self.jobs.current is None else self.jobs.current.job_id,
        )

    async def _settle(self) -> None:
        try:
            await self.blocks.settle()
        except NodeError as exc:
            self.metrics.node_errors.inc()
            log.warning("pool_settle_failed", error=str(exc))

    async def _settle_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.settle_interval)
            await self._settle()

    # --- pruning the share log --------------------------------------------------------------------
    async def prune(self) -> int:
        """Delete the shares nothing needs any more (pool.retention); returns how many."""
        starts = [self.accounting.needed_after(), self.jobs.oldest_window_start()]
        known = [start for start in starts if start is not None]
        needs = Needs(
            keep_blocks=self.config.prune_shares,
            scheme=self.config.scheme,
            needed_after=min(known) if known else None,
            time_from=self.clock() - max(KEEP_SECONDS, self.config.hashrate_window),
        )
        floor = await self.shares.call(prune_floor, needs)
        if floor <= self.pruned_upto:
            return 0
        deleted, count = 0, PRUNE_BATCH
        while count == PRUNE_BATCH:  # a short batch reached the floor, and recorded it
            count = await self.shares.call(prune_batch, floor)
            deleted += count
        self.pruned_upto = floor
        if deleted:
            self.metrics.shares_pruned.inc(deleted)
            self.metrics.pruned_upto.set(self.pruned_upto)
            log.info("shares_pruned", shares=deleted, pruned_upto=self.pruned_upto)
        return deleted

    async def _prune_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.settle_interval)
            try:
                await self.prune()
            except (sqlite3.Error, OSError) as exc:  # the log is intact: try again next time
                log.error("shares_prune_failed", error=str(exc))
