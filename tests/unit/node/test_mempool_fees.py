"""Fee estimation: the estimator learning from confirmations, the backlog fallback, the floor,
monotonicity across targets, and Esplora's fee histogram."""

from __future__ import annotations

from dataclasses import replace

import pytest

from consensus.params import REGTEST
from node.fees import (
    ESPLORA_TARGETS,
    FeeEstimator,
    combine_estimates,
    fee_histogram,
    mempool_fee_rate,
)
from node.mempool import Mempool
from tests.unit.node.test_mempool_support import NOW, FakeChain, fund, pay_rate


def _simulate(estimator: FeeEstimator, blocks: int, fast_ones: bool = True) -> None:
    """Each block: ten transactions at 50/B confirm in the next block; ten at 2/B in ten."""
    tip = 1000
    waiting: dict[int, list[bytes]] = {}
    for step in range(blocks):
        fast = [b"f" + step.to_bytes(4, "big") + bytes([i]) for i in range(10 if fast_ones else 0)]
        slow = [b"s" + step.to_bytes(4, "big") + bytes([i]) for i in range(10)]
        for txid in fast:
            estimator.track(txid, tip, 50 * 200, 200)
        for txid in slow:
            estimator.track(txid, tip, 2 * 200, 200)
        waiting.setdefault(tip + 1, []).extend(fast)
        waiting.setdefault(tip + 10, []).extend(slow)
        tip += 1
        estimator.process_block(tip, waiting.pop(tip, []))


def test_estimator_learns_confirmation_times_by_fee_rate() -> None:
    estimator = FeeEstimator()
    assert all(v is None for v in estimator.estimates(ESPLORA_TARGETS).values())
    _simulate(estimator, 300)
    learned = estimator.estimates(ESPLORA_TARGETS)
    assert learned[1] == pytest.approx(50, rel=0.01)
    assert learned[8] == pytest.approx(50, rel=0.01)
    assert learned[10] == pytest.approx(2, rel=0.01)
    assert learned[144] == pytest.approx(2, rel=0.01)
    combined = combine_estimates(estimator, [], 1_000_000, floor=1.0)
    assert list(combined) == list(ESPLORA_TARGETS)
    values = list(combined.values())
    assert values == sorted(values, reverse=True) and min(values) >= 1.0


def test_short_targets_never_get_less_than_longer_ones() -> None:
    estimator = FeeEstimator()
    _simulate(estimator, 300, fast_ones=False)
    learned = estimator.estimates(ESPLORA_TARGETS)
    assert learned[1] is None and learned[8] is None
    assert learned[10] == pytest.approx(2, rel=0.01)
    combined = combine_estimates(estimator, [], 1_000_000, floor=1.0)
    assert combined[1] == combined[10] == pytest.approx(2, rel=0.01)


def test_mempool_backlog_answers_when_the_estimator_cannot() -> None:
    rates = [(float(100 - i), 100) for i in range(100)]
    assert mempool_fee_rate(rates, 1000) == 90.0
    assert mempool_fee_rate(rates, 10_000) is None
    combined = combine_estimates(FeeEstimator(), rates, 1000, floor=3.0)
    assert combined[1] == 90.0 and combined[2] == 80.0 and combined[6] == 40.0
    assert combined[10] == combined[144] == 3.0
    values = list(combined.values())
    assert values == sorted(values, reverse=True)


def test_mempool_fee_estimates_and_histogram() -> None:
    chain = FakeChain()
    pool = Mempool(replace(REGTEST, max_block_size=600), chain)
    assert set(pool.fee_estimates().values()) == {1.0}
    coins = fund(chain, 8)
    txs = [pay_rate([coin], float(rate)) for coin, rate in zip(coins, range(2, 10), strict=True)]
    for tx in txs:
        pool.accept(tx, NOW)
    estimates = pool.fee_estimates()
    per_block = 600 // txs[0].size
    expected_rate = sorted((pool.get(t.txid).fee_rate for t in txs), reverse=True)  # type: ignore[union-attr]
    assert estimates[1] == pytest.approx(expected_rate[per_block])
    values = list(estimates.values())
    assert values == sorted(values, reverse=True) and min(values) >= 1.0
    histogram = pool.fee_histogram()
    assert sum(size for _, size in histogram) == pool.bytes
    assert histogram[0][0] == pytest.approx(expected_rate[-1])


def test_fee_histogram_bins_like_esplora() -> None:
    rates = [(10.0, 30_000), (10.0, 30_000), (5.0, 30_000), (4.0, 10), (1.0, 60_000)]
    assert fee_histogram(rates) == [(10.0, 60_000), (1.0, 90_010)]
    assert fee_histogram([]) == []


def test_transactions_leaving_unconfirmed_count_as_failures() -> None:
    estimator = FeeEstimator()
    estimator.track(b"t" * 32, 100, 5000, 250)
    bucket = estimator.bucket_of(20.0)
    assert estimator.unconfirmed[100 % 144][bucket] == 1
    for height in range(101, 106):
        estimator.process_block(height, [])
    estimator.untrack(b"t" * 32)
    failed = [round(estimator.failed[p][bucket] * estimator.scale, 9) for p in range(6)]
    assert failed == [1, 1, 1, 1, 1, 0]
    assert estimator.unconfirmed[100 % 144][bucket] == 0 and not estimator.tracked
    estimator.track(b"u" * 32, 104, 5000, 250)  # entered while behind the tip: ignored
    assert not estimator.tracked
