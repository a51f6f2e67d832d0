"""The running node: the only module that wires every part together.

Owns one worker thread for the chain state and mempool (SQLite and validation are synchronous;
the event loop never runs them), the built-in miner, and — as they arrive — the P2P connection
manager and the REST API. Every task is created inside the TaskGroup of :meth:`Node.run`, which
lasts until cancelled and closes everything in ``finally``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import structlog

from consensus.block import Block
from consensus.transaction import Transaction
from node.chain import AcceptResult, ChainState, ChainUpdate
from node.config import NodeConfig
from node.mempool import AcceptResult as TxAcceptResult
from node.mempool import Mempool
from node.mempool_policy import MempoolPolicy
from node.miner import BlockMiner
from node.runtime import tune_gc
from node.sigverify import ParallelVerifier

T = TypeVar("T")
log = structlog.get_logger("seedchain.node")
STATUS_INTERVAL = 10.0


class Node:
    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.params = config.params
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chain")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tip_changed = asyncio.Event()
        self._verifier: ParallelVerifier | None = None
        self.chain: ChainState
        self.mempool: Mempool
        self.miner: BlockMiner | None = None
        self.started = asyncio.Event()

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
            self._loop.call_soon_threadsafe(self._signal_tip_changed)

    def _signal_tip_changed(self) -> None:
        event, self._tip_changed = self._tip_changed, asyncio.Event()
        event.set()

    def _open(self) -> None:
        kwargs: dict[str, Any] = {"cache_bytes": self.config.cache_mb * 1024 * 1024}
        if self.config.verify_processes:
            self._verifier = ParallelVerifier(self.config.verify_processes)
            kwargs["verifier"] = self._verifier
        self.chain = ChainState.open(self.config.datadir, self.params, **kwargs)
        policy = MempoolPolicy(max_bytes=self.config.mempool_mb * 1024 * 1024)
        self.mempool = Mempool(self.params, self.chain, policy)
        self.chain.listeners.append(self._on_chain_update)
        tune_gc()

    def _close(self) -> None:
        self.chain.close()
        if self._verifier is not None:
            self._verifier.close()

    # --- public operations --------------------------------------------------------------------
    async def submit_block(self, block: Block) -> AcceptResult:
        return await self.call(self.chain.accept_block, block, int(time.time()))

    async def submit_transaction(self, tx: Transaction) -> TxAcceptResult:
        return await self.call(self.mempool.accept, tx, int(time.time()))

    # --- lifecycle ----------------------------------------------------------------------------
    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.config.datadir.mkdir(parents=True, exist_ok=True)
        await self.call(self._open)
        log.info(
            "node_started",
            network=self.params.name,
            datadir=str(self.config.datadir),
            height=self.chain.height,
            tip=self.chain.tip.hash_hex,
        )
        try:
            async with asyncio.TaskGroup() as tasks:
                if self.config.mine_to:
                    self.miner = BlockMiner(
                        self,
                        self.config.mine_to,
                        self.config.mine_threads,
                        min_interval=self.config.mine_interval,
                    )
                    tasks.create_task(self.miner.run(), name="miner")
                tasks.create_task(self._report_status(), name="status")
                self.started.set()
        finally:
            await self.call(self._close)
            self._executor.shutdown(wait=True)
            log.info("node_stopped", height=self.chain.height)

    async def _report_status(self) -> None:
        while True:
            await asyncio.sleep(STATUS_INTERVAL)
            log.info(
                "status",
                height=self.chain.height,
                tip=self.chain.tip.hash_hex,
                mempool_txs=len(self.mempool),
                mempool_bytes=self.mempool.bytes,
                hashrate_mhs=round(self.miner.hashrate, 3) if self.miner else 0.0,
            )
