"""The running node's side of ``node.persist``: loading ``fee_estimates.dat`` at open and
``mempool.dat`` after the start, saving both at a clean shutdown, and logging what happened.

May import node modules, structlog and the standard library. The node owns one
``MempoolKeeper``: ``load_fee_estimates`` and ``save`` run on the chain thread (``Node._open``
and ``Node._close``); ``load_mempool`` is a task of the node's TaskGroup that offers the saved
transactions a chunk per chain-thread call, so blocks and new transactions are served meanwhile.
The mempool is saved only once it was loaded (Core's rule: a node stopped while loading keeps
the old file).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from node import persist
from node.fees import FeeEstimator
from node.mempool import Mempool

if TYPE_CHECKING:
    from node.server import Node

log = structlog.get_logger("seedchain.node")

RESTORE_CHUNK = 500  # saved mempool transactions offered per chain-thread call at start


class MempoolNotLoaded(RuntimeError):
    """``savemempool`` before the saved mempool was offered again."""


class MempoolKeeper:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.loaded = False  # the saved mempool was offered again (or there was none)

    def load_fee_estimates(self, estimator: FeeEstimator) -> None:
        """Chain thread, at open: the statistics saved at the last clean shutdown, if usable."""
        node = self.node
        path = node.config.datadir / persist.FEE_ESTIMATES_FILE
        try:
            data = persist.read_fee_estimates(path)
            if data is not None:
                persist.load_fee_estimates(data, estimator, node.params.name, int(time.time()))
                log.info("fee_estimates_loaded", best_height=estimator.best_height)
        except (persist.PersistFileError, OSError) as exc:
            log.warning("fee_estimates_ignored", file=str(path), reason=str(exc))

    async def load_mempool(self) -> None:
        """Offer the transactions saved at the last clean shutdown, then mark the node's own
        ones that no peer had asked for as unbroadcast again."""
        node = self.node
        path = node.config.datadir / persist.MEMPOOL_FILE
        if not path.exists():  # nothing to offer: loaded before this task first waits
            self.loaded = True
            return
        started = time.monotonic()
        max_bytes = node.mempool.policy.max_bytes
        try:
            # A worker thread, not the chain thread: reading and decoding the file needs no
            # chain state, and the chain thread stays free for blocks meanwhile.
            saved = await asyncio.to_thread(persist.read_mempool, path, node.params.name, max_bytes)
        except (persist.PersistFileError, OSError) as exc:
            log.warning("mempool_file_ignored", file=str(path), reason=str(exc))
            saved = None
        if saved is not None and saved.deltas:
            await node.call(_restore_deltas, node.mempool, saved.deltas)
        if saved is not None and saved.txs:
            try:
                await self._restore(saved, started)
            except Exception:  # a bug here must not stop the node: it goes on without them
                log.exception("mempool_load_failed")
        self.loaded = True

    async def _restore(self, saved: persist.SavedMempool, started: float) -> None:
        node = self.node
        counts = persist.RestoreCounts()
        expiry = node.mempool.policy.expiry_seconds
        restored: set[bytes] = set()
        for at in range(0, len(saved.txs), RESTORE_CHUNK):
            chunk = saved.txs[at : at + RESTORE_CHUNK]
            now = int(time.time())
            restored.update(
                await node.call(persist.restore_chunk, node.mempool, chunk, now, expiry, counts)
            )
        if node.netsync is not None:
            own = [txid for txid in saved.unbroadcast if txid in restored]
            node.netsync.txrelay.add_unbroadcast(own)
        log.info(
            "mempool_loaded",
            saved=len(saved.txs),
            restored=counts.restored,
            expired=counts.expired,
            failed=counts.failed,
            already=counts.already,
            seconds=round(time.monotonic() - started, 3),
        )

    def save_mempool_now(self, unbroadcast: Sequence[bytes]) -> tuple[Path, int]:
        """Chain thread: write mempool.dat now (Core's ``savemempool``, whatever
        ``--persist-mempool`` says); ``MempoolNotLoaded`` while the saved one is still being
        offered again (saving then would lose what is not back yet). ``OSError`` if the write
        fails. The path and how many transactions went in."""
        if not self.loaded:
            raise MempoolNotLoaded("the saved mempool is still being loaded; try again shortly")
        return self._write_mempool(unbroadcast, asked=True)

    def _write_mempool(self, unbroadcast: Sequence[bytes], *, asked: bool) -> tuple[Path, int]:
        node = self.node
        path = node.config.datadir / persist.MEMPOOL_FILE
        own = persist.own_unbroadcast(node.mempool, unbroadcast)  # what the file holds
        count = persist.save_mempool(path, node.mempool, node.params.name, own)
        log.info("mempool_saved", transactions=count, unbroadcast=len(own), asked=asked)
        return path, count

    def save(self, unbroadcast: Sequence[bytes]) -> None:
        """Chain thread, at close: the mempool (once it was loaded) and the fee estimates. A
        failure is logged; it never stops the shutdown (the chain is already safe on disk)."""
        node = self.node
        datadir, network = node.config.datadir, node.params.name
        if node.config.persist_mempool and self.loaded:
            try:
                self._write_mempool(unbroadcast, asked=False)
            except OSError as exc:
                log.error("mempool_save_failed", reason=str(exc))
        try:
            estimates = datadir / persist.FEE_ESTIMATES_FILE
            persist.save_fee_estimates(estimates, node.mempool.estimator, network, int(time.time()))
        except OSError as exc:
            log.error("fee_estimates_save_failed", reason=str(exc))


def _restore_deltas(mempool: Mempool, deltas: Sequence[tuple[bytes, int]]) -> None:
    """Chain thread: put back the saved ``prioritisetransaction`` deltas (before the
    transactions, so each enters with its own)."""
    for txid, delta in deltas:
        if txid not in mempool.deltas:
            mempool.prioritise(txid, delta)
