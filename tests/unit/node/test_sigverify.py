"""``node.sigverify.ParallelVerifier``: the same answers as ``verify_batch`` for every batch
size and bad position, synchronously and through ``submit``, and still after a worker dies."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from consensus.signing import verify_batch
from node.sigverify import MIN_PARALLEL_JOBS, MIN_SUBMIT_JOBS, ParallelVerifier, SignatureJob


def make_jobs(n: int) -> list[SignatureJob]:
    key = Ed25519PrivateKey.generate()
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return [(pub, key.sign(m), m) for m in (i.to_bytes(4, "little") * 8 for i in range(n))]


def corrupt(jobs: list[SignatureJob], at: int) -> list[SignatureJob]:
    pub, sig, msg = jobs[at]
    bad = list(jobs)
    bad[at] = (pub, bytes([sig[0] ^ 1]) + sig[1:], msg)
    return bad


@pytest.fixture(scope="module")
def verifier() -> Iterator[ParallelVerifier]:
    pool = ParallelVerifier(2)
    yield pool
    pool.close()


JOBS = make_jobs(3 * MIN_PARALLEL_JOBS)


@pytest.mark.parametrize("n", [0, 1, MIN_SUBMIT_JOBS - 1, MIN_SUBMIT_JOBS, MIN_PARALLEL_JOBS, 150])
def test_answers_match_verify_batch(verifier: ParallelVerifier, n: int) -> None:
    jobs = JOBS[:n]
    assert verifier(jobs) == verifier.submit(jobs).result() == verify_batch(jobs) == -1
    for at in sorted({0, n // 2, n - 1}) if n else []:
        bad = corrupt(jobs, at)
        assert verifier(bad) == verifier.submit(bad).result() == verify_batch(bad) == at


def test_first_bad_index_wins(verifier: ParallelVerifier) -> None:
    bad = corrupt(corrupt(JOBS, 150), 20)
    assert verifier.submit(bad).result() == 20 == verifier(bad)


def test_a_killed_worker_changes_no_answer(verifier: ParallelVerifier) -> None:
    assert verifier.submit(JOBS).result() == -1  # the pool is running
    pool = verifier._pool
    assert pool is not None
    for pid in list(pool._processes):
        os.kill(pid, signal.SIGKILL)
    bad = corrupt(JOBS, 100)
    assert verifier.submit(bad).result() == 100  # verified in this thread instead
    assert verifier(JOBS) == -1
    assert verifier.submit(bad).result() == 100  # a fresh pool
    assert verifier._pool is not None and verifier._pool is not pool
