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
        self._jobs = jobs  # verified in the calling thread at result() when nothing went out
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
        pool = self._workers()
        try:
            for future in [pool.submit(verify_batch, []) for _ in range(self.processes)]:
                future.result()
        except BrokenProcessPool:
            self._broken(pool)
        except (CancelledError, RuntimeError):  # closed meanwhile (the node is stopping)
            pass

    def __call__(self, jobs: Sequence[SignatureJob]) -> int:
        if len(jobs) < MIN_PARALLEL_JOBS:
            return verify_batch(jobs)
        size = -(-len(jobs) // (self.processes + 1))  # the calling thread checks a share too
        rest = self._dispatch(jobs[size:], size)
        first = verify_batch(jobs[:size])
        if first >= 0:
            rest.cancel()
            return first
        bad = rest.result()
        return -1 if bad < 0 else size + bad

    def submit(self, jobs: Sequence[SignatureJob]) -> Pending:
        """Hand the whole batch to the workers; a small one is left to ``result()``."""
        if len(jobs) < MIN_SUBMIT_JOBS:
            return Pending(jobs=jobs)
        pieces = self.processes * CHUNKS_PER_WORKER
        return self._dispatch(jobs, max(MIN_SUBMIT_JOBS, -(-len(jobs) // pieces)))

    def _dispatch(self, jobs: Sequence[SignatureJob], size: int) -> Pending:
        """Chunks of ``size`` jobs to the workers (to the caller's ``result()`` if the pool
        turns out broken)."""
        chunks = [list(jobs[i : i + size]) for i in range(0, len(jobs), size)]
        pool = self._workers()
        try:
            futures = [pool.submit(verify_batch, chunk) for chunk in chunks]
        except BrokenProcessPool:
            self._broken(pool)
            return Pending(jobs=jobs)
        return Pending(
            chunks=list(zip(chunks, futures, strict=True)),
            size=size,
            on_broken=lambda: self._broken(pool),
        )

    def _broken(self, pool: ProcessPoolExecutor) -> None:
        """A worker of ``pool`` died: the next batch starts a fresh pool (once per pool)."""
        with self._lock:
            if self._pool is not pool:
                return
            self._pool = None
        log.warning("signature_workers_restarted", processes=self.processes)
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
