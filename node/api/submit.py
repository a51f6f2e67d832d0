"""Offering transactions from ``POST /v1/tx`` to the node, batched.

May import node types, consensus and the standard library. Each offer normally costs a hop to
the chain thread and back; under load most of that is overhead, not validation. When the node
offers ``submit_transactions(txs)`` (several transactions in one chain-thread call, relayed as
``submit_transaction`` relays), the ``TxSubmitter`` collects the offers that arrive while a
batch is on the chain thread and sends them as the next batch. Otherwise each offer goes
through ``node.submit_transaction`` on its own.

The batching loop is ``TxSubmitter.run()``, a task of the ``ApiServer`` (it lasts until
cancelled); offers wait in a bounded list (503 ``busy`` beyond it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from consensus.transaction import Transaction
from node.api.errors import ApiError
from node.mempool import AcceptResult

if TYPE_CHECKING:
    from node.server import Node

MAX_PENDING = 10_000
MAX_BATCH = 256


class BatchSubmit(Protocol):
    async def __call__(
        self, txs: Sequence[Transaction], max_fee_rates: Sequence[int | None]
    ) -> Sequence[AcceptResult | Exception]: ...


Offer = tuple[Transaction, int | None, "asyncio.Future[AcceptResult]"]  # tx, its fee cap


class TxSubmitter:
    def __init__(self, node: Node) -> None:
        self.node = node
        self._pending: list[Offer] = []
        self._wake = asyncio.Event()
        self._running = False

    def _batch_submit(self) -> BatchSubmit | None:
        batch: BatchSubmit | None = getattr(self.node, "submit_transactions", None)
        return batch

    async def submit(self, tx: Transaction, max_fee_rate: int | None = None) -> AcceptResult:
        """Offer ``tx`` (refused above ``max_fee_rate`` units/byte, if given); its result, or
        the consensus / mempool error that refused it."""
        if not self._running or self._batch_submit() is None:
            return await self.node.submit_transaction(tx, max_fee_rate)
        if len(self._pending) >= MAX_PENDING:
            raise ApiError(503, "busy", "too many transactions waiting", {"Retry-After": "1"})
        future: asyncio.Future[AcceptResult] = asyncio.get_running_loop().create_future()
        self._pending.append((tx, max_fee_rate, future))
        self._wake.set()
        return await future

    async def run(self) -> None:
        """Send waiting offers in batches until cancelled."""
        self._running = True
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._pending:
                    batch = self._pending[:MAX_BATCH]
                    del self._pending[:MAX_BATCH]
                    await self._send(batch)
        finally:
            self._running = False
            for _, _, future in self._pending:
                if not future.done():
                    future.cancel()
            self._pending.clear()

    async def _send(self, batch: list[Offer]) -> None:
        submit = self._batch_submit()
        assert submit is not None
        try:
            results = await submit([tx for tx, _, _ in batch], [cap for _, cap, _ in batch])
        except Exception as exc:  # an operational fault: every offer of the batch gets it
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, _, future), result in zip(batch, results, strict=True):
            if future.done():  # the client went away
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
