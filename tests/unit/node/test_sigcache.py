"""The mempool's signature cache and the threads that fill it (``node.sigcache``): a cache hit
answers as a fresh verification would, failures are never cached, and the threaded verifier
gives the same per-job answers as the plain loop."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consensus.signing import verify_batch
from consensus.utxo import SignatureJob
from node.sigcache import SignatureCache, ThreadVerifier, verify_each
from tests.framework.factory import Key


def make_jobs(n: int, bad: Sequence[int] = ()) -> list[SignatureJob]:
    """``n`` signature jobs by different keys; those at the ``bad`` positions are forged."""
    jobs: list[SignatureJob] = []
    for i in range(n):
        key = Ed25519PrivateKey.from_private_bytes(Key.from_index(100 + i).private)
        message = i.to_bytes(32, "big")
        signature = key.sign(message)
        if i in bad:
            signature = bytes([signature[0] ^ 1]) + signature[1:]
        jobs.append((key.public_key().public_bytes_raw(), signature, message))
    return jobs


class CountingVerifier:
    """``verify_batch`` that records the jobs it was asked about."""

    def __init__(self) -> None:
        self.seen: list[SignatureJob] = []

    def __call__(self, jobs: Sequence[SignatureJob]) -> int:
        self.seen.extend(jobs)
        return verify_batch(jobs)


def test_verify_each_answers_per_job_including_malformed_keys() -> None:
    jobs = make_jobs(5, bad=[1, 3])
    jobs.append((b"\x01" * 31, jobs[0][1], jobs[0][2]))  # a 31-byte public key
    assert verify_each(jobs) == [True, False, True, False, True, False]
    assert verify_each([]) == []


@pytest.mark.parametrize("threads", [0, 1, 3])
def test_thread_verifier_matches_the_plain_loop(threads: int) -> None:
    verifier = ThreadVerifier(threads)
    try:
        for n, bad in [(0, []), (1, []), (1, [0]), (2, [1]), (9, [0, 4, 8]), (16, [])]:
            jobs = make_jobs(n, bad)
            assert verifier(jobs) == verify_each(jobs)
    finally:
        verifier.close()
        verifier.close()  # idempotent


def test_thread_verifier_refuses_a_negative_thread_count() -> None:
    with pytest.raises(ValueError):
        ThreadVerifier(-1)


def test_an_empty_cache_is_the_verifier_itself() -> None:
    cache, counting = SignatureCache(), CountingVerifier()
    jobs = make_jobs(3, bad=[2])
    assert cache.first_bad(jobs, counting) == 2
    assert counting.seen == jobs and cache.hits == 0


def test_hits_skip_verification_and_keep_the_first_bad_index() -> None:
    jobs = make_jobs(6, bad=[4])
    cache = SignatureCache()
    cache.add_verified(jobs, verify_each(jobs))
    assert len(cache) == 5 and jobs[4] not in cache  # a failure is never cached

    counting = CountingVerifier()
    assert cache.first_bad(jobs, counting) == 4
    assert counting.seen == [jobs[4]]  # only the job the cache did not know
    assert cache.hits == 5

    counting = CountingVerifier()
    assert cache.first_bad(jobs[:4], counting) == -1
    assert counting.seen == []


def test_uncached_jobs_are_verified_in_order_among_cached_ones() -> None:
    jobs = make_jobs(6, bad=[2, 5])
    cache = SignatureCache()
    cache.add_verified([jobs[0], jobs[3]], [True, True])
    counting = CountingVerifier()
    assert cache.first_bad(jobs, counting) == 2
    assert counting.seen == [jobs[1], jobs[2], jobs[4], jobs[5]]  # the ones not cached, in order
    assert cache.first_bad([jobs[0], jobs[1], jobs[3]], CountingVerifier()) == -1


def test_a_cached_result_for_a_different_message_does_not_count() -> None:
    ((pubkey, signature, message),) = make_jobs(1)
    cache = SignatureCache()
    cache.add_verified([(pubkey, signature, message)], [True])
    other = (pubkey, signature, b"\xff" * 32)
    assert cache.first_bad([other], verify_batch) == 0


def test_the_cache_is_bounded_and_clears() -> None:
    jobs = make_jobs(5)
    cache = SignatureCache(max_entries=3)
    cache.add_verified(jobs, [True] * 5)
    assert len(cache) == 3
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(ValueError):
        cache.add_verified(jobs, [True])
