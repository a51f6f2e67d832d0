"""The node's built-in miner: block templates from the chain and mempool, solved by the
multi-core ``mining.Miner``, abandoned the moment the tip changes.

May import consensus, mining and node modules. The template is rebuilt on a new tip
(immediately, the search is cancelled within one chunk), and every ``refresh_seconds`` so that
new mempool transactions get in.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import structlog

from consensus.addresses import address_to_lock
from consensus.block import Block, BlockHeader
from consensus.errors import ConsensusError
from consensus.pow import compact_to_target
from consensus.transaction import TxOut
from mining.miner import Miner
from mining.work import Work
from node.template import BlockTemplate, make_template

if TYPE_CHECKING:
    from node.server import Node

log = structlog.get_logger("seedchain.miner")


class BlockMiner:
    def __init__(
        self,
        node: Node,
        address: str,
        threads: int,
        *,
        min_interval: float = 0.0,
        refresh_seconds: float = 30.0,
    ) -> None:
        self.node = node
        self.lock = address_to_lock(address, node.params.hrp)
        self.address = address
        self.threads = threads
        self.min_interval = min_interval
        self.refresh_seconds = refresh_seconds
        self.miner = Miner(threads=threads)
        self.blocks_found = 0

    @property
    def hashrate(self) -> float:
        """MH/s over the last few seconds."""
        return self.miner.hashrate

    async def run(self) -> None:
        log.info("miner_started", address=self.address, threads=self.threads)
        last_found = 0.0
        try:
            while True:
                wait = last_found + self.min_interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                tip_changed = self.node.tip_changed_event()
                template = await self.node.call(self._template)
                block = await self._solve(template, tip_changed)
                if block is None:
                    continue
                last_found = time.monotonic()
                await self._submit(block, template)
        finally:
            await self.miner.aclose()

    def _template(self) -> BlockTemplate:
        node = self.node
        policy = node.config.template_policy
        return make_template(node.chain.tip, node.mempool, node.params, int(time.time()), policy)

    async def _solve(self, template: BlockTemplate, tip_changed: asyncio.Event) -> Block | None:
        candidate = template.block([TxOut(template.reward, self.lock)], tag=b"seedchain")
        params = self.node.params
        header76 = candidate.header.encoded[:76]
        max_roll = max(0, template.time + params.max_future_block_time // 2 - int(time.time()))
        work = Work.rolling_time(header76, max_roll) if max_roll else Work(header76)
        target = compact_to_target(template.bits)
        solve = asyncio.ensure_future(self.miner.solve(work, target))
        waiter = asyncio.ensure_future(tip_changed.wait())
        try:
            await asyncio.wait(
                {solve, waiter}, timeout=self.refresh_seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in (solve, waiter):
                task.cancel()
            await asyncio.gather(solve, waiter, return_exceptions=True)
        if solve.cancelled() or solve.exception() is not None:
            return None
        solution = solve.result()
        if solution is None:
            return None
        header = BlockHeader.decode(solution.header)
        return replace(candidate, header=header)

    async def _submit(self, block: Block, template: BlockTemplate) -> None:
        try:
            await self.node.submit_block(block)
        except ConsensusError as exc:
            log.error("mined_block_rejected", hash=block.hash_hex, error=str(exc), code=exc.code)
            return
        self.blocks_found += 1
        log.info(
            "block_mined",
            height=template.height,
            hash=block.hash_hex,
            txs=len(block.transactions),
            fees=template.fees,
            hashrate_mhs=round(self.hashrate, 3),
        )
