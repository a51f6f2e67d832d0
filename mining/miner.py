"""The multi-core miner: worker threads that run ``consensus.search_nonce`` over disjoint chunks
of a :class:`~mining.work.Work`, driven from asyncio.

Shape, for its two callers (the node's built-in miner and the Stratum miner client)::

    async with Miner(threads=2) as miner:
        solution = await miner.solve(work, target)   # Solution, or None if work ran out
        # a new tip / new job: cancel the task awaiting solve(); every worker stops
        # within one chunk (a few ms) and solve() returns only once they have.

* ``workers`` (= ``threads``, see below for hashlib) worker threads start on the first
  ``solve`` and live until ``aclose()``. One ``solve`` runs at a time (a second waits for
  the first to finish or be cancelled).
* Each worker repeatedly takes a chunk from the shared dispenser (disjoint nonce ranges,
  then the next roll: time or extranonce) and makes one ``search_nonce`` call. Chunk sizes
  adapt per worker so a call lasts about ``chunk_seconds`` (3 ms): thousands of nonces a call
  for the native backend, which releases the GIL, and a stop check between calls.
* Workers report to the event loop only through ``loop.call_soon_threadsafe``; the loop never
  blocks on a thread (``aclose`` joins them through ``asyncio.to_thread``).
* ``hashes`` counts every nonce hashed; ``hashrate`` is MH/s averaged over the last
  ``hashrate_window`` seconds (0 when idle that long).
* The backend is resolved once, at construction (``SEEDCHAIN_POW_BACKEND`` or the default),
  and logged in one line; when the C extension is absent that line is a warning saying the
  hashlib backend is in use. The hashlib backend holds the GIL, and a second thread only adds
  contention (measured ~25% slower in total), so it runs one worker (``workers``) whatever
  ``threads`` asks for.

May import ``consensus`` and the standard library only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType

from consensus.nonce_search import (
    HASHLIB,
    native_features,
    native_variants,
    resolve_backend,
    search_nonce,
)
from mining.work import Solution, Work, WorkDispenser

__all__ = ["Miner"]

log = logging.getLogger(__name__)

MIN_CHUNK = 256
MAX_CHUNK = 1 << 22
FIRST_CHUNK = 4096


def _settle(future: asyncio.Future[Solution | None], solution: Solution | None) -> None:
    if not future.done():
        future.set_result(solution)


def _fail(future: asyncio.Future[Solution | None], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


class _Job:
    """One ``solve`` call as the workers see it; its futures live on the caller's loop."""

    def __init__(self, work: Work, target: int, loop: asyncio.AbstractEventLoop, workers: int):
        self.dispenser = WorkDispenser(work)
        self.target = target
        self.stop = threading.Event()
        self.result: asyncio.Future[Solution | None] = loop.create_future()
        self.finished: asyncio.Future[None] = loop.create_future()
        self._loop = loop
        self._lock = threading.Lock()
        self._active = workers

    def _call(self, callback: Callable[..., None], *args: object) -> None:
        # RuntimeError: the loop is closed, so nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(callback, *args)

    def deliver(self, solution: Solution) -> None:
        self.stop.set()
        self._call(_settle, self.result, solution)

    def fail(self, exc: BaseException) -> None:
        self.stop.set()
        self._call(_fail, self.result, exc)

    def worker_done(self) -> None:
        with self._lock:
            self._active -= 1
            last = self._active == 0
        if last:
            self._call(self._finish)

    def _finish(self) -> None:
        _settle(self.result, None)  # every chunk handed out and hashed, no solution
        if not self.finished.done():
            self.finished.set_result(None)


class Miner:
    """Multi-core proof-of-work search; see the module docstring."""

    def __init__(
        self,
        threads: int | None = None,
        *,
        backend: str | None = None,
        chunk_seconds: float = 0.003,
        hashrate_window: float = 5.0,
    ) -> None:
        self.threads = threads if threads is not None else (os.cpu_count() or 1)
        if self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        self.backend = resolve_backend(backend)
        self.workers = 1 if self.backend == HASHLIB else self.threads
        self.chunk_seconds = chunk_seconds
        self.hashrate_window = hashrate_window
        self._cond = threading.Condition()
        self._job: _Job | None = None
        self._generation = 0
        self._closed = False
        self._workers: list[threading.Thread] = []
        self._solve_lock = asyncio.Lock()
        self._stats_lock = threading.Lock()
        self._hashes = 0
        self._samples: deque[tuple[float, int]] = deque()
        self._window_hashes = 0
        self._busy_since: float | None = None
        self._log_backend()

    def _log_backend(self) -> None:
        if self.backend == HASHLIB and not native_variants():
            log.warning(
                "proof of work: the native extension is not built, mining with the slow "
                "pure-Python hashlib backend on 1 thread (reinstall with a C compiler to "
                "build it)"
            )
        elif self.backend == HASHLIB:
            log.info("proof of work: hashlib backend (forced), 1 thread")
        else:
            variant = self.backend.partition(":")[2] or native_features()
            log.info("proof of work: native backend (%s), %d threads", variant, self.threads)

    # -- the asyncio side ------------------------------------------------------------------

    async def solve(self, work: Work, target: int) -> Solution | None:
        """The first solution any worker finds for ``work`` at ``target``; None if every roll
        was searched. Cancel the awaiting task to stop: the workers stop within one chunk."""
        if target < 0:
            raise ValueError("target must be >= 0")
        async with self._solve_lock:
            if self._closed:
                raise RuntimeError("the miner is closed")
            self._start_workers()
            job = _Job(work, target, asyncio.get_running_loop(), self.workers)
            with self._cond:
                self._job = job
                self._generation += 1
                self._cond.notify_all()
            try:
                return await job.result
            finally:
                job.stop.set()
                # Each worker finishes its current call (one chunk, a few ms) and leaves.
                await asyncio.shield(job.finished)
                with self._cond:
                    if self._job is job:
                        self._job = None

    async def aclose(self) -> None:
        """Stop any search and join the worker threads (idempotent)."""
        with self._cond:
            self._closed = True
            if self._job is not None:
                self._job.stop.set()
            self._cond.notify_all()
            workers, self._workers = self._workers, []
        for worker in workers:
            await asyncio.to_thread(worker.join)

    async def __aenter__(self) -> Miner:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- statistics ------------------------------------------------------------------------

    @property
    def hashes(self) -> int:
        """Nonces hashed since the miner was made."""
        with self._stats_lock:
            return self._hashes

    @property
    def hashrate(self) -> float:
        """Million hashes per second over the last ``hashrate_window`` seconds."""
        now = time.perf_counter()
        with self._stats_lock:
            self._trim(now)
            if self._busy_since is None or not self._samples:
                return 0.0
            span = min(self.hashrate_window, now - self._busy_since)
            return self._window_hashes / span / 1e6 if span > 0 else 0.0

    def _record(self, hashes: int, started: float, now: float) -> None:
        with self._stats_lock:
            self._hashes += hashes
            self._trim(now)
            if not self._samples:  # a busy period starts: average over it until it is long
                self._busy_since = started
            self._samples.append((now, hashes))
            self._window_hashes += hashes

    def _trim(self, now: float) -> None:
        horizon = now - self.hashrate_window
        while self._samples and self._samples[0][0] < horizon:
            self._window_hashes -= self._samples.popleft()[1]

    # -- the worker threads ----------------------------------------------------------------

    def _start_workers(self) -> None:
        if self._workers:
            return
        for index in range(self.workers):
            worker = threading.Thread(
                target=self._worker_main, name=f"seedchain-miner-{index}", daemon=True
            )
            worker.start()
            self._workers.append(worker)

    def _worker_main(self) -> None:
        seen = 0
        chunk = FIRST_CHUNK
        while True:
            with self._cond:
                while not self._closed and self._generation == seen:
                    self._cond.wait()
                if self._generation == seen:  # closed and nothing new
                    return
                # A job posted just before aclose() is still run (it is stopped, so this is
                # at most one chunk): its solve() waits for every worker to report done.
                seen = self._generation
                job = self._job
            if job is not None:
                chunk = self._run(job, chunk)

    def _run(self, job: _Job, chunk: int) -> int:
        """Hash chunks of ``job`` until it is stopped or exhausted; return the chunk size
        reached, for the next job."""
        try:
            while not job.stop.is_set():
                piece = job.dispenser.take(chunk)
                if piece is None:
                    break
                started = time.perf_counter()
                nonce = search_nonce(
                    piece.header76, job.target, piece.start, piece.count, backend=self.backend
                )
                now = time.perf_counter()
                if nonce is not None:
                    self._record(nonce - piece.start + 1, started, now)
                    job.deliver(Solution.of(piece.header76, nonce, piece.roll))
                    break
                self._record(piece.count, started, now)
                chunk = self._next_chunk(chunk, piece.count, now - started)
        except BaseException as exc:  # handed to the awaiting task, never lost
            job.fail(exc)
        finally:
            job.worker_done()
        return chunk

    def _next_chunk(self, chunk: int, hashed: int, elapsed: float) -> int:
        """Steer the chunk size so one call takes about ``chunk_seconds``."""
        if hashed < chunk:  # a short tail piece says nothing about speed
            return chunk
        wanted = chunk * self.chunk_seconds / elapsed if elapsed > 0 else 2 * chunk
        wanted = max(chunk / 2, min(2 * chunk, wanted))
        return max(MIN_CHUNK, min(MAX_CHUNK, int(wanted)))
