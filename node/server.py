"""The running node: the only module that wires every part together.

Owns one worker thread for the chain state and mempool (SQLite and validation are synchronous;
the event loop never runs them), the built-in miner, and — as they arrive — the P2P connection
manager and the REST API. Every task is created inside the TaskGroup of :meth:`Node.run`, which
lasts until cancelled and closes everything in ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import structlog

from consensus.block import Block, wire_block
from consensus.errors import ConsensusError
from consensus.transaction import Transaction
from node.api import ApiServer, ApiSettings
from node.assumevalid import AssumeValid
from node.blocknotify import BlockNotifier
from node.chain import CONNECT_BATCH_BLOCKS, AcceptResult, ChainState, ChainUpdate
from node.config import NodeConfig
from node.datadir import DatadirLock
from node.fees import FeeEstimator
from node.keeper import MempoolKeeper
from node.mempool import AcceptResult as TxAcceptResult
from node.mempool import Mempool
from node.mempool_errors import MempoolError
from node.mempool_policy import MempoolPolicy
from node.metrics import NodeMetrics
from node.miner import BlockMiner
from node.netsync import NetSync
from node.progress import SyncProgress
from node.prune import Pruner, PruneSettings
from node.runtime import tune_gc
from node.sigcache import ThreadVerifier
from node.sigverify import ParallelVerifier
from node.staletip import PeerChecks
from node.stopheight import stop_at_height
from node.uploadtarget import UploadTarget
from p2p.addrbook import AddressBook
from p2p.banlist import BanList
from p2p.connmgr import ConnectionManager
from p2p.settings import ConnectionConfig

T = TypeVar("T")
log = structlog.get_logger("seedchain.node")
STATUS_INTERVAL = 10.0
RELAY_INTERVAL = 0.05  # how often queued transaction announcements are flushed
# Blocks (and transactions) taken on per activation. The chain thread serves other calls
# whenever the activation waits for signatures, so this bounds how long the listeners (mempool,
# indexes, tip snapshot) lag behind, and how much of the pipeline drains at each end.
ACTIVATION_BLOCKS = 512
ACTIVATION_TXS = 16_000
# While syncing, wait (at most GATHER_SECONDS) for this many blocks in a row before connecting.
GATHER_BLOCKS = 2 * CONNECT_BATCH_BLOCKS
GATHER_SECONDS = 0.25
RELAY_BLOCKS = 4  # the last blocks connected, kept for getdata (see Node.relay_blocks)


class Node:
    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.params = config.params
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chain")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tip_changed = asyncio.Event()
        self._verifier: ParallelVerifier | None = None
        self._verifier_warmed = False
        self._tx_verifier: ThreadVerifier | None = None  # with verify_threads > 0, in _open
        self.chain: ChainState
        self.mempool: Mempool
        self.miner: BlockMiner | None = None
        self.netsync: NetSync | None = None
        self.connmgr: ConnectionManager | None = None
        self.metrics = NodeMetrics()
        self.upload_target = UploadTarget(config.max_upload_target, self.params.max_block_size)
        self.api: ApiServer | None = None
        self.started = asyncio.Event()
        self.started_at: float | None = None  # Unix time the node finished starting
        interactive = sys.stderr.isatty() and config.log_format in ("auto", "console")
        self.progress = SyncProgress(interactive)
        self._activation_requested = asyncio.Event()
        self._updates: list[ChainUpdate] = []
        # Event loop: told of every chain update as it reaches the loop (the API's /v1/ws).
        self.update_listeners: list[Callable[[ChainUpdate], None]] = []
        self._updates_ready = asyncio.Event()
        # Event loop only: the blocks connected last, as sent on the wire, served to peers at once
        # (Core's most recent block) while the chain thread still indexes and flushes them.
        self.relay_blocks: OrderedDict[bytes, Block] = OrderedDict()
        self._opened = False
        self._run_task: asyncio.Task[Any] | None = None
        self.keeper = MempoolKeeper(self)  # mempool.dat and fee_estimates.dat

    # --- the chain thread ---------------------------------------------------------------------
    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the chain thread and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    def tip_changed_event(self) -> asyncio.Event:
        """An event set the next time the active tip changes (a fresh one after each change)."""
        return self._tip_changed

    def _on_chain_update(self, update: ChainUpdate) -> None:
        """Chain thread: keep the mempool in step, then tell the event loop."""
        self.mempool.apply_chain_update(update.disconnected, update.connected, int(time.time()))
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._signal_tip_changed, update)

    def _signal_tip_changed(self, update: ChainUpdate) -> None:
        event, self._tip_changed = self._tip_changed, asyncio.Event()
        event.set()
        self._updates.append(update)
        self._updates_ready.set()
        for listener in self.update_listeners:
            try:
                listener(update)
            except Exception:  # a listener's fault must not stop the node
                log.exception("update_listener_failed")
        relay = self.relay_blocks
        for block, _ in update.connected[-RELAY_BLOCKS:]:
            relay[block.hash] = wire_block(block.header, block.encoded)
        while len(relay) > RELAY_BLOCKS:
            relay.popitem(last=False)

    def request_activation(self) -> None:
        """Ask the activator to connect the blocks stored so far (coalesces requests)."""
        self._activation_requested.set()

    async def _activate(self) -> None:
        """Connect stored blocks: one chain-thread call connects everything that arrived
        meanwhile, in batches, so catching up costs few transactions and signature batches."""
        while True:
            await self._activation_requested.wait()
            self._activation_requested.clear()
            await self._gather_blocks()
            update = await self._run_activation()
            if update.more:
                self._activation_requested.set()
            if self.netsync is not None:
                if update.failed:
                    self.netsync.blocks_failed(update.failed)
                await self.netsync.schedule()

    def warm_verifier(self) -> None:
        """Far behind: start the signature workers now, in the background (idempotent)."""
        if self._verifier is not None and not self._verifier_warmed:
            self._verifier_warmed = True
            threading.Thread(target=self._verifier.warm, name="verify-warm", daemon=True).start()

    async def _run_activation(self) -> ChainUpdate:
        """One ``ChainState.activation``, advanced on the chain thread; while it waits for the
        signature workers, the chain thread is free for other calls (storing the blocks that
        keep arriving) instead of sitting idle."""
        steps = self.chain.activation(ACTIVATION_BLOCKS, ACTIVATION_TXS)

        def advance() -> tuple[ChainUpdate | None, list[Future[int]]]:
            try:
                return None, next(steps).waits()
            except StopIteration as stop:
                return stop.value, []

        finished = False
        try:
            while True:
                update, waits = await self.call(advance)
                if update is not None:
                    finished = True
                    return update
                if waits:
                    await asyncio.wait([asyncio.wrap_future(f) for f in waits])
        finally:
            if not finished:  # cancelled (shutdown): end it on the chain thread, uncommitted
                with contextlib.suppress(RuntimeError):
                    self._executor.submit(steps.close)

    async def _gather_blocks(self) -> None:
        """While catching up, let a few batches' worth of blocks arrive before connecting them
        (for at most ``GATHER_SECONDS``): connecting each block as it lands would verify its
        signatures alone, with no next batch to prepare meanwhile, and would keep the chain
        thread from storing the blocks that follow."""
        netsync = self.netsync
        if netsync is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GATHER_SECONDS
        while netsync.ready_blocks(GATHER_BLOCKS) < GATHER_BLOCKS:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._activation_requested.clear()
            try:
                await asyncio.wait_for(self._activation_requested.wait(), remaining)
            except TimeoutError:
                return

    async def _announce_updates(self) -> None:
        """Hand each chain update to the network side, in order."""
        while True:
            await self._updates_ready.wait()
            self._updates_ready.clear()
            updates, self._updates = self._updates, []
            if self.netsync is not None:
                for update in updates:
                    await self.netsync.tip_changed(update)
                self.progress.update(self.chain.height, self.netsync.best_header.height)

    def _open(self) -> None:
        kwargs: dict[str, Any] = {"cache_bytes": self.config.cache_mb * 1024 * 1024}
        if self.config.assume_valid is not None:  # --assume-valid (node.assumevalid)
            kwargs["assume_valid"] = AssumeValid(self.config.assume_valid, self.params.spacing)
        kwargs["stop_at_height"] = self.config.stop_at_height
        if self.config.verify_processes:
            self._verifier = ParallelVerifier(self.config.verify_processes)
            kwargs["verifier"] = self._verifier
        self.chain = ChainState.open(self.config.datadir, self.params, **kwargs)
        if self.config.prune_bytes:
            settings = PruneSettings(self.config.prune_bytes, self.config.prune_keep_blocks)
            self.chain.pruner = Pruner(settings)
            self.chain.pruner.maybe_prune(self.chain)  # a target lowered since the last run
        policy = MempoolPolicy(
            max_bytes=self.config.mempool_mb * 1024 * 1024,
            min_relay_fee_rate=self.config.min_relay_fee_rate,
            expiry_seconds=self.config.mempool_expiry_hours * 3600,
        )
        estimator = FeeEstimator()
        self.keeper.load_fee_estimates(estimator)
        self.mempool = Mempool(self.params, self.chain, policy, estimator=estimator)
        if self.config.verify_threads:
            self._tx_verifier = ThreadVerifier(self.config.verify_threads)
        self.chain.listeners.append(self._on_chain_update)
        self._opened = True
        tune_gc()

    def _close(self, unbroadcast: Sequence[bytes] = ()) -> None:
        if self._opened:
            self.keeper.save(unbroadcast)
        self.chain.close()
        if self._tx_verifier is not None:
            self._tx_verifier.close()
        if self._verifier is not None:
            self._verifier.close()

    # --- public operations --------------------------------------------------------------------
    async def submit_block(self, block: Block) -> AcceptResult:
        return await self.call(self.chain.accept_block, block, int(time.time()))

    async def submit_transaction(
        self, tx: Transaction, max_fee_rate: int | None = None
    ) -> TxAcceptResult:
        result = await self.call(self.mempool.accept, tx, int(time.time()), None, max_fee_rate)
        if self.netsync is not None and not result.orphan:
            self.netsync.txrelay.broadcast_own(result.accepted)
        return result

    async def submit_transactions(
        self, txs: Sequence[Transaction], max_fee_rates: Sequence[int | None] | None = None
    ) -> list[TxAcceptResult | ConsensusError | MempoolError]:
        """Accept a batch in one trip to the chain thread (the API batches concurrent POSTs),
        its signatures verified together on ``verify_threads`` helper threads first (see
        ``node.mempool_batch``); each result is the acceptance or the error that refused that
        transaction, as ``submit_transaction`` one after another would give."""
        results = await self.call(
            self.mempool.accept_batch, txs, int(time.time()), self._tx_verifier, max_fee_rates
        )
        if self.netsync is not None:
            for result in results:
                if isinstance(result, TxAcceptResult) and not result.orphan:
                    self.netsync.txrelay.broadcast_own(result.accepted)
        return results

    def _connection_config(self) -> ConnectionConfig:  # tests/framework adjusts it
        return self.config.connection_config()

    async def _relay(self) -> None:
        netsync, connmgr = self.netsync, self.connmgr  # the ones this task was started with
        assert netsync is not None and connmgr is not None
        checks = PeerChecks(netsync, connmgr, self.params)  # stalls, a stale tip
        while True:
            await asyncio.sleep(RELAY_INTERVAL)
            netsync.txrelay.flush(connmgr.peers())
            await checks.run(time.monotonic())

    # --- lifecycle ----------------------------------------------------------------------------
    def request_stop(self, delay: float = 0.1) -> None:
        """Stop as SIGTERM would (Core's ``stop``), ``delay`` seconds from now so that the
        caller's answer leaves first. Event loop only; nothing happens if not running."""
        task = self._run_task
        if task is not None and not task.done():
            asyncio.get_running_loop().call_later(delay, task.cancel)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._run_task = asyncio.current_task()
        self.config.datadir.mkdir(parents=True, exist_ok=True)
        with DatadirLock(self.config.datadir):  # DatadirLocked if another node has it
            await self._run_locked()

    async def _run_locked(self) -> None:
        await self.call(self._open)
        log.info(
            "node_started",
            network=self.params.name,
            datadir=str(self.config.datadir),
            height=self.chain.height,
            tip=self.chain.tip.hash_hex,
        )
        self.netsync = NetSync(self, stall_timeout=self.config.stall_timeout)
        self.connmgr = ConnectionManager(
            self.params,
            self.netsync,
            self._connection_config(),
            addrbook=AddressBook(self.config.datadir),
            best_height=lambda: self.chain.height,
            message_observer=self.upload_target.observer(self.metrics.p2p_message),
            on_eviction=self.metrics.inbound_evictions.inc,
            banlist=self._open_banlist(),
        )
        self.api = ApiServer(self, ApiSettings.from_config(self.config), self.metrics)
        try:
            await self.api.start()  # binds api_bind and writes api.cookie; 503 until started
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self.connmgr.run(), name="p2p")
                await self.connmgr.wait_started()
                tasks.create_task(self._announce_updates(), name="announce")
                tasks.create_task(self._activate(), name="activate")
                tasks.create_task(self.netsync.intake.run(), name="intake")
                tasks.create_task(self._relay(), name="relay")
                if self.config.persist_mempool:
                    tasks.create_task(self.keeper.load_mempool(), name="mempool-load")
                if self.config.mine_to:
                    self.miner = BlockMiner(
                        self,
                        self.config.mine_to,
                        self.config.mine_threads,
                        min_interval=self.config.mine_interval,
                    )
                    tasks.create_task(self.miner.run(), name="miner")
                if self.config.block_notify:
                    notifier = BlockNotifier(self, self.config.block_notify)
                    tasks.create_task(notifier.run(), name="block-notify")
                tasks.create_task(self._report_status(), name="status")
                if self.config.stop_at_height is not None:
                    stop = stop_at_height(self, self.config.stop_at_height)
                    tasks.create_task(stop, name="stop-at-height")
                self.started_at = time.time()
                self.started.set()
        finally:
            await self.api.aclose()
            unbroadcast = list(self.netsync.txrelay.unbroadcast) if self.netsync else []
            await self.call(self._close, unbroadcast)
            self._executor.shutdown(wait=True)
            self.progress.stop()
            log.info("node_stopped", height=self.chain.height)

    def _open_banlist(self) -> BanList:
        banlist = BanList(self.config.datadir)
        if banlist.load_error is not None:
            aside = "banlist.json.corrupt"
            log.warning("banlist_corrupt", moved_to=aside, reason=banlist.load_error)
        elif len(banlist):
            log.info("banlist_loaded", bans=len(banlist))
        return banlist

    @property
    def api_port(self) -> int:
        assert self.api is not None and self.api.port is not None
        return self.api.port

    @property
    def p2p_port(self) -> int:
        assert self.connmgr is not None
        return self.connmgr.port

    async def _report_status(self) -> None:
        while True:
            await asyncio.sleep(STATUS_INTERVAL)
            log.info(
                "status",
                height=self.chain.height,
                tip=self.chain.tip.hash_hex,
                mempool_txs=len(self.mempool),
                mempool_bytes=self.mempool.bytes,
                peers=len(self.connmgr.peers()) if self.connmgr else 0,
                best_header=self.netsync.best_header.height if self.netsync else 0,
                hashrate_mhs=round(self.miner.hashrate, 3) if self.miner else 0.0,
            )
