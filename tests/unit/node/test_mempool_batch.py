"""``Mempool.accept_batch`` (``node.mempool_batch``): a batch gives, transaction by transaction,
exactly what one ``accept`` after another gives (results, errors, the mempool's state), while
signatures verified ahead of time are not verified again and refused ones get their own error."""

from __future__ import annotations

from collections.abc import Sequence

from consensus import errors as E
from consensus.params import REGTEST
from consensus.signing import verify_batch
from consensus.transaction import Transaction, Witness
from consensus.utxo import SignatureJob
from node import mempool_errors as M
from node.mempool import Mempool
from node.mempool_batch import BatchResult, batch_signature_jobs
from node.sigcache import ThreadVerifier, verify_each
from tests.unit.node.test_mempool_support import (
    BOB,
    NOW,
    FakeChain,
    fund,
    out,
    pay,
    snapshot,
)


class Recorder:
    """A mempool verifier (``verify_batch``) or batch verifier (``verify_each``) that records
    what it was asked to verify."""

    def __init__(self) -> None:
        self.jobs: list[SignatureJob] = []

    def __call__(self, jobs: Sequence[SignatureJob]) -> int:
        self.jobs.extend(jobs)
        return verify_batch(jobs)

    def each(self, jobs: Sequence[SignatureJob]) -> list[bool]:
        self.jobs.extend(jobs)
        return verify_each(jobs)


def forge(tx: Transaction) -> Transaction:
    witness = tx.witnesses[0]
    signature = bytes([witness.signature[0] ^ 1]) + witness.signature[1:]
    return tx.with_witnesses((Witness(witness.pubkey, signature), *tx.witnesses[1:]))


def twin_pools() -> tuple[Mempool, Mempool, FakeChain, FakeChain, Recorder]:
    """Two empty mempools over equal chains; the first verifies through a ``Recorder``."""
    inline = Recorder()
    chain_a, chain_b = FakeChain(), FakeChain()
    batched = Mempool(REGTEST, chain_a, verifier=inline)
    return batched, Mempool(REGTEST, chain_b), chain_a, chain_b, inline


def one_by_one(pool: Mempool, txs: Sequence[Transaction]) -> list[BatchResult]:
    results: list[BatchResult] = []
    for tx in txs:
        try:
            results.append(pool.accept(tx, NOW))
        except (E.ConsensusError, M.MempoolError) as exc:
            results.append(exc)
    return results


def outcome(result: BatchResult) -> object:
    return result if not isinstance(result, Exception) else (type(result), result.code)


def mixed_batch(chain: FakeChain) -> list[Transaction]:
    coins = fund(chain, 6)
    good = pay([coins[0]], fee=5000)
    parent = pay([coins[1]], fee=5000, outputs=2)
    return [
        good,
        forge(pay([coins[2]], fee=5000)),  # bad_signature
        pay([coins[3]], fee=1),  # min_fee_not_met
        parent,
        pay([out(parent, 0)], fee=5000),  # spends an output of the batch's own parent
        pay([coins[0]], fee=4000),  # double spend of ``good`` paying less: replacement refused
        good,  # again: already in the mempool
        pay([(out(parent, 1)[0], out(parent, 1)[1], BOB)], fee=5000),  # key_hash_mismatch
        pay(fund(FakeChain(), 1, tag=b"elsewhere"), fee=5000),  # unknown input: an orphan
        pay([coins[4]], fee=5000, outputs=3),
        pay([out(parent, 1)], fee=9000),  # a second child of the parent
    ]


def test_a_batch_gives_what_one_accept_after_another_gives() -> None:
    batched, single, chain_a, chain_b, inline = twin_pools()
    txs = mixed_batch(chain_a)
    assert mixed_batch(chain_b) == txs  # the same coins on both chains
    verifier = ThreadVerifier(2)
    try:
        results = batched.accept_batch(txs, NOW, verifier)
    finally:
        verifier.close()
    expected = one_by_one(single, txs)
    assert [outcome(r) for r in results] == [outcome(r) for r in expected]
    assert [outcome(r) for r in results][1:3] == [
        (E.BadSignature, "bad_signature"),
        (M.MinFeeNotMet, "min_fee_not_met"),
    ]
    assert isinstance(results[5], M.ReplacementRejected)
    assert isinstance(results[6], M.AlreadyInMempool)
    assert isinstance(results[7], E.KeyHashMismatch)
    assert not isinstance(results[8], Exception) and results[8].orphan
    assert snapshot(batched) == snapshot(single)
    batched.check()
    assert len(batched.signatures) == 0  # emptied when the batch is done
    # only the forged signature was verified again, inline; every valid one came from the cache
    assert [job[1] for job in inline.jobs] == [txs[1].witnesses[0].signature]
    assert batched.signatures.hits == 5


def test_cheap_refusals_are_not_verified_ahead() -> None:
    chain = FakeChain()
    pool = Mempool(REGTEST, chain)
    coins = fund(chain, 4)
    accepted = pay([coins[0]], fee=5000)
    pool.accept(accepted, NOW)
    low_fee = pay([coins[1]], fee=1)
    orphan = pay(fund(FakeChain(), 1, tag=b"elsewhere"), fee=5000)
    no_witness = pay([coins[2]], fee=5000).with_witnesses(())
    plausible = pay([coins[3]], fee=5000)
    before = snapshot(pool)
    planned = batch_signature_jobs(pool, [accepted, low_fee, orphan, no_witness, plausible], NOW)
    assert [(tx, [job[1] for job in jobs]) for tx, _, jobs in planned] == [
        (plausible, [plausible.witnesses[0].signature])
    ]
    assert snapshot(pool) == before  # working out the jobs changes nothing


def test_a_failing_verification_is_not_trusted() -> None:
    """A batch verifier that wrongly says "bad" costs an inline verification, never a wrong
    verdict; one that is never asked (an empty batch of jobs) is not called."""
    batched, single, chain_a, chain_b, inline = twin_pools()
    txs = [pay([c], fee=5000) for c in fund(chain_a, 3)]
    fund(chain_b, 3)
    results = batched.accept_batch(txs, NOW, lambda jobs: [False] * len(jobs))
    assert [outcome(r) for r in results] == [outcome(r) for r in one_by_one(single, txs)]
    assert len(inline.jobs) == 3 and batched.signatures.hits == 0

    def never(jobs: Sequence[SignatureJob]) -> list[bool]:
        raise AssertionError("called without jobs")

    assert batched.accept_batch([], NOW, never) == []
    again = batched.accept_batch(txs[:1], NOW, never)  # already in: no jobs to verify
    assert isinstance(again[0], M.AlreadyInMempool)


def test_a_batch_relays_the_same_orphans_it_would_one_by_one() -> None:
    batched, single, chain_a, chain_b, _ = twin_pools()
    parent = pay(fund(chain_a, 1), fee=5000)
    fund(chain_b, 1)
    child = pay([out(parent)], fee=5000)
    recorder = Recorder()
    results = batched.accept_batch([child, parent], NOW, recorder.each)
    expected = one_by_one(single, [child, parent])
    assert [outcome(r) for r in results] == [outcome(r) for r in expected]
    first, second = results
    assert not isinstance(first, Exception) and first.orphan
    assert not isinstance(second, Exception) and second.accepted == [parent.txid, child.txid]
    assert snapshot(batched) == snapshot(single)
