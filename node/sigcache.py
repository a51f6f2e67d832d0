"""Signatures checked ahead of mempool acceptance: the cache the mempool consults, and the
threads that fill it.

May import consensus and the standard library. ``Mempool.accept_batch`` (``node.mempool_batch``)
works out the ``(pubkey, signature, message)`` jobs of a whole batch of transactions, has them
verified at once (``ThreadVerifier``: helper threads plus the calling thread), and records the
ones that verified in the mempool's ``SignatureCache``. Each transaction then goes through the
ordinary ``accept``, whose last check asks the cache first (``SignatureCache.first_bad``): a
job found there verified before, so it is not verified again; any other job is verified then,
exactly as without the cache. Ed25519 verification is a pure function of the job, so a cache hit
gives the answer a fresh verification would give: the checks, their order and their errors do
not change. Only jobs that verified are recorded, never one that failed.

``ThreadVerifier`` uses threads, not processes: ``cryptography`` releases the GIL while OpenSSL
verifies an Ed25519 signature (measured: two threads verify 1.9x as fast as one), so threads
verify in parallel with no pickling or pipe round trip, which would cost more than a verification
for a batch of a few transactions. With a ``cryptography`` that holds the GIL the threads take
turns: slower than the calling thread alone, still correct.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from consensus.errors import BadSignature
from consensus.signing import verify_signature
from consensus.transaction import Transaction, TxOut
from consensus.tx_rules import signature_jobs
from consensus.utxo import SignatureJob, Verifier

MAX_ENTRIES = 100_000  # bounded even if a caller never clears it (a batch clears it after use)


class SignatureCache:
    """Signature jobs known to verify, and the jobs worked out for the transactions of a batch
    (so that ``accept`` does not compute their signature hash again). Not thread-safe: the
    chain thread owns it."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._verified: set[SignatureJob] = set()
        # id(tx) -> (tx, chain id, spent outputs, jobs); the tx is kept so its id stays unique
        self._jobs: dict[int, tuple[Transaction, bytes, list[TxOut], list[SignatureJob]]] = {}
        self.hits = 0  # jobs answered from the cache (for tests and diagnostics)

    def __len__(self) -> int:
        return len(self._verified)

    def __contains__(self, job: object) -> bool:
        return job in self._verified

    def add_verified(self, jobs: Sequence[SignatureJob], verified: Sequence[bool]) -> None:
        """Record the jobs whose ``verified`` flag is true (the two sequences pair up)."""
        if len(jobs) != len(verified):
            raise ValueError(f"{len(verified)} results for {len(jobs)} jobs")
        room = self.max_entries - len(self._verified)
        good = [job for job, ok in zip(jobs, verified, strict=True) if ok]
        self._verified.update(good[: max(room, 0)])

    def clear(self) -> None:
        self._verified.clear()
        self._jobs.clear()

    def remember_jobs(
        self, tx: Transaction, chain_id: bytes, spent: list[TxOut], jobs: list[SignatureJob]
    ) -> None:
        """Record the jobs worked out for ``tx`` spending ``spent`` (see ``signature_jobs``)."""
        if len(self._jobs) < self.max_entries:
            self._jobs[id(tx)] = (tx, chain_id, spent, jobs)

    def signature_jobs(
        self, tx: Transaction, spent: list[TxOut], chain_id: bytes
    ) -> list[SignatureJob]:
        """``consensus.tx_rules.signature_jobs(tx, spent, chain_id)``: the remembered jobs when
        they were worked out for this very transaction object and the same spent outputs."""
        known = self._jobs.get(id(tx))
        if known is not None and known[0] is tx and known[1] == chain_id and known[2] == spent:
            return known[3]
        return signature_jobs(tx, spent, chain_id)

    def first_bad(self, jobs: Sequence[SignatureJob], verifier: Verifier) -> int:
        """What ``verifier(jobs)`` returns (the index of the first job that does not verify, or
        -1), verifying only the jobs not in the cache."""
        verified = self._verified
        if not verified:
            return verifier(jobs)
        unknown = [i for i, job in enumerate(jobs) if job not in verified]
        self.hits += len(jobs) - len(unknown)
        if not unknown:
            return -1
        if len(unknown) == len(jobs):
            return verifier(jobs)
        bad = verifier([jobs[i] for i in unknown])
        return -1 if bad < 0 else unknown[bad]


def verify_each(jobs: Iterable[SignatureJob]) -> list[bool]:
    """Whether each job verifies (``verify_batch`` stops at the first bad one; this does not)."""
    results: list[bool] = []
    for pubkey, signature, message in jobs:
        try:
            verify_signature(pubkey, signature, message)
        except BadSignature:
            results.append(False)
        else:
            results.append(True)
    return results


class ThreadVerifier:
    """``verify_each`` spread over ``threads`` helper threads and the calling thread.

    The participants take jobs one at a time from a shared counter, so a thread that the
    operating system leaves waiting (a busy core) costs nothing but its own share. A single
    job, or ``threads == 0``, is verified in the calling thread alone. ``close()`` stops the
    threads; it is idempotent.
    """

    def __init__(self, threads: int) -> None:
        if threads < 0:
            raise ValueError("threads must not be negative")
        self.threads = threads
        self._pool = (
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sigverify")
            if threads
            else None
        )
        self._lock = threading.Lock()

    def __call__(self, jobs: Sequence[SignatureJob]) -> list[bool]:
        pool = self._pool
        if pool is None or len(jobs) < 2:
            return verify_each(jobs)
        results: list[bool] = [False] * len(jobs)
        counter = itertools.count()
        helpers = min(self.threads, len(jobs) - 1)
        futures: list[Future[None]] = [
            pool.submit(self._drain, jobs, results, counter) for _ in range(helpers)
        ]
        self._drain(jobs, results, counter)
        for future in futures:
            future.result()
        return results

    def _drain(
        self, jobs: Sequence[SignatureJob], results: list[bool], counter: itertools.count[int]
    ) -> None:
        total = len(jobs)
        lock = self._lock
        while True:
            with lock:
                index = next(counter)
            if index >= total:
                return
            results[index] = verify_each((jobs[index],))[0]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
