"""Signature verification spread over worker processes, for large blocks and sync.

May import consensus and stdlib. ``ParallelVerifier`` is a ``consensus.utxo.Verifier``: it takes
``(pubkey, signature, message)`` jobs and returns the index of the first bad one, or -1. Small
batches are verified in the calling thread, where a process round trip would cost more than
it saves; larger ones are cut into chunks for the pool while the caller verifies a share too.

``submit`` is the asynchronous form that block connection uses while catching up: the whole
batch goes to the workers and the caller gets a ``Pending`` to collect the answer later, so the
chain thread prepares the next batch of blocks while the workers check this one. The workers
start on the first batch big enough to need them: an idle node at the tip pays no memory for
them.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import structlog

from consensus.signing import verify_batch

log = structlog.get_logger("seedchain.sigverify")

SignatureJob = tuple[bytes, bytes, bytes]
MIN_PARALLEL_JOBS = 64  # below this, __call__ verifies in the calling thread
MIN_SUBMIT_JOBS = 8  # below this, submit leaves the batch to the caller (a round trip costs more)
CHUNKS_PER_WORKER = 2  # smaller chunks even out workers that the OS gives less time


class Pending:
    """The answer to a submitted batch: ``result()`` waits for it (the index of the first bad
    signature, or -1); ``cancel()`` drops work that is no longer wanted. A chunk whose worker
    died (``BrokenProcessPool``) is verified in the calling thread instead: a broken pool slows
    the node down, it never stops it or changes an answer."""

    def __init__(
        self,
        jobs: Sequence[SignatureJob] = (),
        chunks: Sequence[tuple[list[SignatureJob], Future[int]]] = (),
        size: int = 0,
        on_broken: Callable[[], None] = lambda: None,
    ) -> None:
        self._jobs = jobs  # verified by the caller at result() when there are no chunks
        self._chunks = list(chunks)
        self._size = size
        self._on_broken = on_broken

    def result(self) -> int:
        if not self._chunks:
            return verify_batch(self._jobs)
        bad_index = -1
        for index, (chunk, future) in enumerate(self._chunks):
            try:
                bad = future.result()
            except (BrokenProcessPool, CancelledError):
                self._on_broken()
                bad = verify_batch(chunk)
            if bad >= 0 and bad_index < 0:
                bad_index = index * self._size + bad
        return bad_index

    def cancel(self) -> None:
        for _, future in self._chunks:
            future.cancel()

    def waits(self) -> list[Future[int]]:
        """The workers' answers still outstanding (nothing to wait for: ``result()`` is quick,
        or verifies in the calling thread)."""
        return [future for _, future in self._chunks if not future.done()]


class ParallelVerifier:
    """Verify with ``processes`` worker processes (plus the calling thread for ``__call__``)."""

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError("need at least one worker process")
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _workers(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                self._pool = ProcessPoolExecutor(max_workers=self.processes, mp_context=context)
            return self._pool

    def warm(self) -> None:
        """Start the workers now (a second or so) rather than on the first batch: the node
        calls this, from a thread of its own, when it finds itself far behind its peers."""
        try:
            pool = self._workers()
            for future in [pool.submit(verify_batch, []) for _ in range(self.processes)]:
                future.result()
        except BrokenProcessPool:
            self._broken()
        except (CancelledError, RuntimeError):  # closed meanwhile (the node is stopping)
            pass

    def __call__(self, jobs: Sequence[SignatureJob]) -> int:
        if len(jobs) < MIN_PARALLEL_JOBS:
            return verify_batch(jobs)
        shares = self.processes + 1
        size = -(-len(jobs) // shares)
        chunks = [list(jobs[i : i + size]) for i in range(0, len(jobs), size)]
        try:
            pool = self._workers()
            futures: list[Future[int]] = [pool.submit(verify_batch, c) for c in chunks[1:]]
        except BrokenProcessPool:
            self._broken()
            return verify_batch(jobs)
        first = verify_batch(chunks[0])
        results = [first]
        for chunk, future in zip(chunks[1:], futures, strict=True):
            try:
                results.append(future.result())
            except (BrokenProcessPool, CancelledError):
                self._broken()
                results.append(verify_batch(chunk))
        for index, bad in enumerate(results):
            if bad >= 0:
                return index * size + bad
        return -1

    def submit(self, jobs: Sequence[SignatureJob]) -> Pending:
        """Hand the whole batch to the workers; a small one is left to ``result()``."""
        if len(jobs) < MIN_SUBMIT_JOBS:
            return Pending(jobs=jobs)
        pieces = self.processes * CHUNKS_PER_WORKER
        size = max(MIN_SUBMIT_JOBS, -(-len(jobs) // pieces))
        pool = self._workers()
        chunks = [list(jobs[i : i + size]) for i in range(0, len(jobs), size)]
        try:
            futures = [pool.submit(verify_batch, chunk) for chunk in chunks]
        except BrokenProcessPool:
            self._broken()
            return Pending(jobs=jobs)
        return Pending(jobs, list(zip(chunks, futures, strict=True)), size, self._broken)

    def _broken(self) -> None:
        """A worker died: start a fresh pool on the next batch."""
        if self._pool is not None:
            log.warning("signature_workers_restarted", processes=self.processes)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
