"""Blocks the pool finds: recorded before they are submitted, then followed until final.

May import consensus, structlog, the standard library and ``pool`` modules.

* :meth:`BlockKeeper.found` records the block-finding share, the block (raw bytes) and its
  credits in one transaction (status ``pending``), then submits it to the node: ``accepted``
  (the node stored it) or ``rejected`` (the node refused it: its credits no longer count). A node
  that cannot be reached leaves it ``pending``; :meth:`BlockKeeper.settle` submits it again
  (also after a crash: that is why the raw block is kept).
* :class:`ChainTracker` follows the node's best chain (``height -> hash`` for the last
  ``depth`` blocks, one ``GET /v1/block/{hash}`` per new block, more only on a reorg).
* :meth:`BlockKeeper.settle` compares every unsettled block with that chain: off the best chain
  it is ``orphaned`` (its credits stop counting: exactly what it credited is taken back), back
  on it ``accepted`` again, and ``confirmed`` (final) once it is ``maturity`` blocks deep.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from consensus.hashing import hash_to_hex
from pool import sharelog
from pool.accounting import Accounting
from pool.errors import BlockRejected, JobNotFound, NodeError
from pool.jobs import JobManager
from pool.metrics import PoolMetrics
from pool.nodeclient import NodeClient
from pool.session import AcceptedShare
from pool.sharelog import BlockRecord, ShareLog, ShareRecord

log = structlog.get_logger("seedchain.pool.blocks")


class ChainTracker:
    """The node's best chain near the tip, as ``height -> block hash`` (display hex)."""

    def __init__(self, node: NodeClient, depth: int) -> None:
        self.node = node
        self.depth = depth
        self.tip_hash: str | None = None
        self.tip_height = -1
        self.hashes: dict[int, str] = {}

    async def sync(self) -> bool:
        """Catch up with the node's tip; True if it moved."""
        tip = await self.node.tip_hash()
        if tip == self.tip_hash:
            return False
        info = await self.node.block(tip)
        if info is None:
            raise NodeError(f"the node does not know its own tip {tip}")
        for height in [h for h in self.hashes if h > info.height]:
            del self.hashes[height]
        bottom = info.height - self.depth
        while True:
            self.hashes[info.height] = info.hash
            parent = info.previous_hash
            if parent is None or info.height <= max(0, bottom):
                break
            if self.hashes.get(info.height - 1) == parent:
                break
            found = await self.node.block(parent)
            if found is None:
                raise NodeError(f"the node does not know block {parent}")
            info = found
        for height in [h for h in self.hashes if h < bottom]:
            del self.hashes[height]
        self.tip_hash, self.tip_height = tip, max(self.hashes)
        return True

    def on_best_chain(self, height: int, block_hash: str) -> bool | None:
        """Whether the block is on the best chain; None if this tracker cannot tell."""
        known = self.hashes.get(height)
        if known is None:
            return None
        return known == block_hash


class BlockKeeper:
    def __init__(
        self,
        node: NodeClient,
        shares: ShareLog,
        accounting: Accounting,
        jobs: JobManager,
        metrics: PoolMetrics,
        *,
        maturity: int,
        on_accepted: Callable[[], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.node = node
        self.shares = shares
        self.accounting = accounting
        self.jobs = jobs
        self.metrics = metrics
        self.maturity = maturity
        self.on_accepted = on_accepted
        self.clock = clock
        self.tracker = ChainTracker(node, maturity + 20)
        self._lock = asyncio.Lock()

    async def found(self, share: AcceptedShare, record: ShareRecord) -> None:
        """Record, then submit, a share that meets the network target."""
        async with self._lock:
            job = share.job
            if not self.jobs.is_live(job):
                raise JobNotFound("stale: the pool has just found a block on this tip")
            block = job.block(share.checked.header, share.checked.coinbase)
            payout = job.payout
            block_hash = hash_to_hex(share.checked.hash)
            await self.shares.append(
                record,
                BlockRecord(
                    hash=block_hash,
                    height=job.height,
                    job_id=job.job_id,
                    scheme=payout.scheme,
                    window_start=payout.window_start,
                    window_end=payout.window_end,
                    reward=payout.payout.reward,
                    operator=payout.payout.operator,
                    operator_amount=payout.payout.operator_amount,
                    operator_paid=payout.payout.operator_paid,
                    address=share.address,
                    worker=share.worker,
                    raw=block.encoded,
                    credits=payout.payout.credits,
                ),
            )
            log.info(
                "pool_block_found",
                hash=block_hash,
                height=job.height,
                address=share.address,
                worker=share.worker,
                reward=payout.payout.reward,
            )
            await self.accounting.refresh_ledger()
            if await self._submit(block_hash, block.encoded) == "accepted":
                self.jobs.invalidate_tip()
                self.on_accepted()

    async def _submit(self, block_hash: str, raw: bytes) -> str:
        """Submit and record the outcome: ``accepted``, ``rejected``, or ``pending`` (no
        answer; tried again by :meth:`settle`)."""
        try:
            result = await self.node.submit_block(raw)
        except BlockRejected as exc:
            log.warning("pool_block_rejected", hash=block_hash, code=exc.code, error=exc.message)
            self.metrics.blocks.labels("rejected").inc()
            await self._set_status(block_hash, "rejected")
            return "rejected"
        except NodeError as exc:
            self.metrics.node_errors.inc()
            log.warning("pool_block_submit_failed", hash=block_hash, error=str(exc))
            return "pending"
        self.metrics.blocks.labels(result.status).inc()
        log.info("pool_block_submitted", hash=block_hash, status=result.status)
        await self._set_status(block_hash, "accepted")
        return "accepted"

    async def _set_status(self, block_hash: str, status: str) -> None:
        await self.shares.set_block_status(block_hash, status, self.clock())
        await self.accounting.refresh_ledger()

    async def settle(self) -> None:
        """Follow the node's chain and move every unsettled block to its current status."""
        async with self._lock:
            await self.tracker.sync()
            deepest = self.tracker.tip_height - self.maturity
            for block_hash, height, stored_status, raw in await self.shares.call(
                sharelog.unsettled_blocks, deepest
            ):
                status = stored_status
                if status == "pending":
                    if raw is None or await self._submit(block_hash, bytes(raw)) != "accepted":
                        continue
                    status = "accepted"
                on_best = self.tracker.on_best_chain(height, block_hash)
                if on_best is None:
                    if height > self.tracker.tip_height:
                        continue
                    info = await self.node.block(block_hash)
                    on_best = info is not None and info.in_best_chain
                if not on_best:
                    new = "orphaned"
                elif self.tracker.tip_height - height + 1 >= self.maturity:
                    new = "confirmed"
                else:
                    new = "accepted"
                if new != status:
                    log.info("pool_block_status", hash=block_hash, height=height, status=new)
                    await self._set_status(block_hash, new)
