"""Signature verification spread over worker processes, for large blocks and sync.

May import consensus and stdlib. ``ParallelVerifier`` is a ``consensus.utxo.Verifier``: it takes
``(pubkey, signature, message)`` jobs and returns the index of the first bad one, or -1. Small
batches are verified in the calling thread, where a process round trip would cost more than
it saves; larger ones are cut into chunks for the pool while the caller verifies a share too.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from consensus.signing import verify_batch

SignatureJob = tuple[bytes, bytes, bytes]
MIN_PARALLEL_JOBS = 64


class ParallelVerifier:
    """Verify with ``processes`` worker processes plus the calling thread."""

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError("need at least one worker process")
        self.processes = processes
        context = multiprocessing.get_context("forkserver")
        self._pool = ProcessPoolExecutor(max_workers=processes, mp_context=context)
        # start the workers now, not on the first block
        for future in [self._pool.submit(verify_batch, []) for _ in range(processes)]:
            future.result()

    def __call__(self, jobs: Sequence[SignatureJob]) -> int:
        if len(jobs) < MIN_PARALLEL_JOBS:
            return verify_batch(jobs)
        shares = self.processes + 1
        size = -(-len(jobs) // shares)
        chunks = [list(jobs[i : i + size]) for i in range(0, len(jobs), size)]
        futures: list[Future[int]] = [self._pool.submit(verify_batch, c) for c in chunks[1:]]
        results = [verify_batch(chunks[0]), *(f.result() for f in futures)]
        for index, bad in enumerate(results):
            if bad >= 0:
                return index * size + bad
        return -1

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
