"""Proof-of-work benchmark: MH/s per backend and thread count, against a ceiling measured in
the same run.

The ceiling is what ``hashlib`` (OpenSSL) sustains on 16 KiB buffers, converted at two
64-byte compressions per nonce: ``ceiling_mhs = bytes_per_second / 128 / 1e6``. For one thread
it is measured in this process; for N threads it is *measured* with N processes running at
once (the sum of their rates), not multiplied from one core. Each row's ``ratio`` is
``mhs / ceiling_mhs``.

Each backend is timed the way the miner runs it: N threads each calling ``search_nonce`` on
its own header with an unreachable target, a few milliseconds of nonces per call. The native
backend releases the GIL and scales with threads; the hashlib backend holds it and does not.

Used by ``seedchain bench pow`` and ``bench/pow.py``. May import ``consensus`` and the
standard library only.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypedDict

from consensus.nonce_search import (
    HASHLIB,
    NATIVE,
    available_backends,
    native_variants,
    resolve_backend,
    search_nonce,
)

__all__ = [
    "REFERENCE",
    "PowBenchRow",
    "bench_pow",
    "default_thread_counts",
    "measure_backend",
    "measure_reference_loop",
]

CEILING_BUFFER = 16 * 1024
BYTES_PER_NONCE = 128  # two 64-byte SHA-256 compressions per header hash (with a midstate)


class PowBenchRow(TypedDict):
    backend: str
    threads: int
    mhs: float
    ceiling_mhs: float
    ratio: float


def default_thread_counts(max_threads: int | None = None) -> list[int]:
    """1, the powers of two below ``max_threads``, and ``max_threads`` (default: CPU count)."""
    top = max_threads if max_threads is not None else (os.cpu_count() or 1)
    if top < 1:
        raise ValueError(f"threads must be >= 1, got {top}")
    counts = {1, top}
    power = 2
    while power < top:
        counts.add(power)
        power *= 2
    return sorted(counts)


def _run_threads(threads: int, seconds: float, work: Callable[[int], int]) -> float:
    """Run ``work(index)`` repeatedly in ``threads`` threads for about ``seconds``; each call
    returns the units it did. Return units per second over the whole run."""
    barrier = threading.Barrier(threads + 1)
    totals = [0] * threads
    ends = [0.0] * threads
    deadline = [0.0]

    def loop(index: int) -> None:
        barrier.wait()
        done = 0
        while time.perf_counter() < deadline[0]:
            done += work(index)
        totals[index] = done
        ends[index] = time.perf_counter()

    workers = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    started = time.perf_counter()
    deadline[0] = started + seconds
    barrier.wait()
    for worker in workers:
        worker.join()
    elapsed = max(ends) - started
    return sum(totals) / elapsed if elapsed > 0 else 0.0


def _sha256_bytes_per_second(seconds: float) -> float:
    """hashlib SHA-256 throughput on 16 KiB buffers in this process, one thread."""
    buffer = bytes(range(256)) * (CEILING_BUFFER // 256)
    hashed = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(16):
            hashlib.sha256(buffer).digest()
        hashed += 16 * CEILING_BUFFER
        now = time.perf_counter()
        if now >= deadline:
            return hashed / (now - started)


def measure_ceiling(seconds: float, threads: int) -> float:
    """The hashlib-derived ceiling in MH/s for ``threads`` cores (see the module docstring)."""
    if threads == 1:
        bytes_per_second = _sha256_bytes_per_second(seconds)
    else:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded process
        with ProcessPoolExecutor(threads, mp_context=context) as pool:
            pool.submit(int).result()  # let one start; the others start alongside
            rates = list(pool.map(_sha256_bytes_per_second, [seconds] * threads))
        bytes_per_second = sum(rates)
    return bytes_per_second / BYTES_PER_NONCE / 1e6


def _chunk_for(backend: str) -> int:
    """Nonces per call: a few milliseconds of work, as the miner uses."""
    if backend == HASHLIB or backend.endswith(":portable"):
        return 8192
    return 1 << 17


def measure_backend(backend: str, seconds: float, threads: int) -> float:
    """MH/s of ``backend`` with ``threads`` threads searching with an unreachable target."""
    resolved = resolve_backend(backend)
    chunk = _chunk_for(resolved)
    headers = [
        hashlib.sha256(b"seedchain bench %d" % i).digest() * 3 for i in range(threads)
    ]  # 96 bytes each: cut to 76 below
    nonces = [0] * threads

    def search(index: int) -> int:
        start = nonces[index]
        if start + chunk > 2**32:
            start = 0
        search_nonce(headers[index][:76], 0, start, chunk, backend=resolved)
        nonces[index] = start + chunk
        return chunk

    search_nonce(headers[0][:76], 0, 0, chunk, backend=resolved)  # warm up, untimed
    return _run_threads(threads, seconds, search) / 1e6


REFERENCE = "hashlib-reference"


def measure_reference_loop(seconds: float) -> float:
    """MH/s of the plain loop that shared/design/performance.md measured (1.7 MH/s on its
    machine): per nonce, copy a precomputed midstate, add the last 16 bytes, hash the digest
    again, compare with the target. Run in the same process as the hashlib backend, so the
    two compare on this machine whatever its speed."""
    header = hashlib.sha256(b"seedchain reference").digest() * 3
    midstate = hashlib.sha256(header[:64])
    tail = header[64:76]
    sha256 = hashlib.sha256
    done = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        for nonce in range(done, done + 8192):
            h = midstate.copy()
            h.update(tail + nonce.to_bytes(4, "little"))
            if int.from_bytes(sha256(h.digest()).digest(), "little") <= 0:
                break
        done += 8192
    return done / (time.perf_counter() - started) / 1e6


def bench_pow(
    seconds: float = 2.0,
    threads: Sequence[int] | None = None,
    backends: Sequence[str] | None = None,
    *,
    all_variants: bool = False,
) -> list[PowBenchRow]:
    """Measure every backend (default: ``available_backends()``, plus each native variant
    as ``native:<variant>`` if ``all_variants``) at every thread count (default:
    :func:`default_thread_counts`), ``seconds`` each, with the ceiling measured before each
    thread count's rows."""
    if seconds <= 0:
        raise ValueError("seconds must be > 0")
    counts = list(threads) if threads is not None else default_thread_counts()
    chosen = list(backends) if backends is not None else available_backends()
    if all_variants and NATIVE in chosen:
        at = chosen.index(NATIVE) + 1
        chosen[at:at] = [f"{NATIVE}:{variant}" for variant in native_variants()]
    rows: list[PowBenchRow] = []
    for count in counts:
        ceiling = measure_ceiling(min(seconds, 1.0), count)
        # The reference loop is one thread of Python: measured on the one-thread rows only.
        row_backends = [*chosen, REFERENCE] if count == 1 and HASHLIB in chosen else chosen
        for backend in row_backends:
            if backend == REFERENCE:
                mhs = measure_reference_loop(seconds)
            else:
                mhs = measure_backend(backend, seconds, count)
            rows.append(
                PowBenchRow(
                    backend=backend,
                    threads=count,
                    mhs=round(mhs, 3),
                    ceiling_mhs=round(ceiling, 3),
                    ratio=round(mhs / ceiling, 3) if ceiling > 0 else 0.0,
                )
            )
    return rows
