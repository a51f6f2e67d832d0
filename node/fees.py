"""Fee estimation: from what the mempool saw confirm, and from the mempool's current backlog.

Standard library only. ``FeeEstimator`` follows Bitcoin Core's ``CBlockPolicyEstimator`` in
spirit, with one horizon: transactions are tracked from the height at which they entered the
mempool into exponentially spaced fee-rate buckets; each block decays every average and records,
for the tracked transactions it confirms, how many blocks they waited. For a target of ``t``
blocks the estimate is the median fee-rate of the cheapest range of buckets (scanning from the
most expensive down) in which at least ``success_threshold`` of the transactions confirmed within
``t`` blocks, counting as failures those that left unconfirmed and those still waiting ``t``
blocks or more (Core's ``EstimateMedianVal``).

Where the estimator has too little data, ``mempool_fee_rate`` answers from the backlog: the
fee-rate needed to be within the top ``t`` blocks' worth of bytes. ``combine_estimates`` merges
the two, applies the floor and makes the answer non-increasing with the target (raising a short
target to a longer one's rate where they disagree, never the reverse). Fee-rates here
are floats of base units per byte: they rank and estimate, they never become amounts.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence

ESPLORA_TARGETS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 24, 48, 144)
HISTOGRAM_BIN_BYTES = 50_000  # Esplora's VSIZE_BIN_WIDTH

FeeRateSizes = Sequence[tuple[float, int]]
"""``(fee-rate, size)`` of mempool transactions, highest fee-rate first."""


MIN_SCALE = 1e-100  # renormalise the lazily decayed averages below this scale


class FeeEstimator:
    """Confirmation statistics by fee-rate bucket and by blocks waited (1..max_target)."""

    def __init__(
        self,
        *,
        max_target: int = 144,
        decay: float = 0.998,
        min_bucket_fee_rate: float = 1.0,
        max_bucket_fee_rate: float = 10_000.0,
        bucket_spacing: float = 1.05,
        success_threshold: float = 0.85,
        sufficient_txs_per_block: float = 0.1,
    ) -> None:
        bounds: list[float] = []
        rate = min_bucket_fee_rate
        while rate <= max_bucket_fee_rate:
            bounds.append(rate)
            rate *= bucket_spacing
        bounds.append(math.inf)
        self.bucket_bounds = bounds
        buckets = len(bounds)
        self.max_target = max_target
        self.decay = decay
        self.success_threshold = success_threshold
        self.sufficient = sufficient_txs_per_block / (1 - decay)
        # confirmed[p][b]: decayed count confirmed within p + 1 blocks; failed[p][b]: left the
        # mempool unconfirmed after waiting more than p blocks.
        self.confirmed = [[0.0] * buckets for _ in range(max_target)]
        self.failed = [[0.0] * buckets for _ in range(max_target)]
        self.tx_count = [0.0] * buckets
        self.fee_rate_sum = [0.0] * buckets
        # Transactions still waiting, by entry height modulo max_target, then the older ones.
        self.unconfirmed = [[0] * buckets for _ in range(max_target)]
        self.old_unconfirmed = [0] * buckets
        self.tracked: dict[bytes, tuple[int, int, float]] = {}  # txid -> height, bucket, rate
        self.best_height: int | None = None
        self.version = 0  # changes whenever an estimate could change
        # Decay is lazy: the true value of every decayed average is ``stored * scale``. A block
        # multiplies ``scale`` by ``decay`` (one float operation, not one per cell) and new data
        # is stored divided by ``scale``; the stored values are renormalised when it underflows.
        self.scale = 1.0

    def bucket_of(self, fee_rate: float) -> int:
        return bisect_left(self.bucket_bounds, fee_rate)

    def track(self, txid: bytes, height: int, fee: int, size: int) -> None:
        """A transaction entered the mempool with the chain tip at ``height``."""
        if self.best_height is None:
            self.best_height = height
        if height != self.best_height or txid in self.tracked:
            return  # entered while the estimator is behind the chain: would skew the data
        rate = fee / size
        bucket = self.bucket_of(rate)
        self.tracked[txid] = (height, bucket, rate)
        self.unconfirmed[height % self.max_target][bucket] += 1
        self.version += 1

    def untrack(self, txid: bytes) -> None:
        """A transaction left the mempool without confirming (replaced, evicted, expired)."""
        self._remove(txid, in_block=False)

    def process_block(self, height: int, txids: Iterable[bytes]) -> None:
        """A block at ``height`` confirmed ``txids``: decay, then record the tracked ones."""
        if self.best_height is not None and height <= self.best_height:
            return  # a reorg or side chain: Core ignores these too
        self.best_height = height
        slot = height % self.max_target
        current = self.unconfirmed[slot]
        self.old_unconfirmed = [a + b for a, b in zip(self.old_unconfirmed, current, strict=True)]
        self.unconfirmed[slot] = [0] * len(current)
        self.scale *= self.decay
        if self.scale < MIN_SCALE:
            self._renormalise()
        unit = 1.0 / self.scale
        for txid in txids:
            info = self.tracked.get(txid)
            if info is None:
                continue
            entry_height, bucket, rate = info
            self._remove(txid, in_block=True)
            waited = height - entry_height
            if waited < 1:
                continue
            for period in range(waited - 1, self.max_target):
                self.confirmed[period][bucket] += unit
            self.tx_count[bucket] += unit
            self.fee_rate_sum[bucket] += rate * unit
        self.version += 1

    def _renormalise(self) -> None:
        scale = self.scale
        self.confirmed = [[v * scale for v in row] for row in self.confirmed]
        self.failed = [[v * scale for v in row] for row in self.failed]
        self.tx_count = [v * scale for v in self.tx_count]
        self.fee_rate_sum = [v * scale for v in self.fee_rate_sum]
        self.scale = 1.0

    def _remove(self, txid: bytes, in_block: bool) -> None:
        info = self.tracked.pop(txid, None)
        if info is None or self.best_height is None:
            return
        height, bucket, _ = info
        waited = self.best_height - height
        if waited >= self.max_target:
            self.old_unconfirmed[bucket] = max(0, self.old_unconfirmed[bucket] - 1)
        else:
            row = self.unconfirmed[height % self.max_target]
            row[bucket] = max(0, row[bucket] - 1)
        if not in_block:
            unit = 1.0 / self.scale
            for period in range(min(waited, self.max_target)):
                self.failed[period][bucket] += unit
        self.version += 1

    def flush_unconfirmed(self) -> None:
        """Stop tracking every waiting transaction, each counted as not confirmed in the blocks
        it waited (Core's ``FlushUnconfirmed``, before the statistics are saved at shutdown)."""
        for txid in list(self.tracked):
            self._remove(txid, in_block=False)

    def load_statistics(
        self,
        best_height: int | None,
        confirmed: list[list[float]],
        failed: list[list[float]],
        tx_count: list[float],
        fee_rate_sum: list[float],
    ) -> None:
        """Take the statistics saved by an earlier run (``node.persist``; true values, shapes
        already checked) into this fresh estimator."""
        self.best_height = best_height
        self.confirmed = [list(row) for row in confirmed]
        self.failed = [list(row) for row in failed]
        self.tx_count = list(tx_count)
        self.fee_rate_sum = list(fee_rate_sum)
        self.scale = 1.0
        self.version += 1

    def estimates(self, targets: Iterable[int]) -> dict[int, float | None]:
        """The estimate for each target (None where the data does not suffice)."""
        targets = [t for t in targets if 1 <= t <= self.max_target]
        waiting = self._waiting_at_least(targets)
        return {t: self._estimate(t, waiting[t]) for t in targets}

    def _waiting_at_least(self, targets: Sequence[int]) -> dict[int, list[float]]:
        """For each target ``t`` and bucket: tracked transactions waiting ``t`` blocks or more."""
        buckets = len(self.bucket_bounds)
        best = self.best_height or 0
        wanted = set(targets)
        running = [float(v) for v in self.old_unconfirmed]
        result: dict[int, list[float]] = {}
        for age in range(self.max_target - 1, 0, -1):
            row = self.unconfirmed[(best - age) % self.max_target]
            for b in range(buckets):
                running[b] += row[b]
            if age in wanted:
                result[age] = list(running)
        if self.max_target in wanted:
            result[self.max_target] = [float(v) for v in self.old_unconfirmed]
        return result

    def _estimate(self, target: int, waiting: Sequence[float]) -> float | None:
        confirmed = self.confirmed[target - 1]
        failed = self.failed[target - 1]
        tx_count = self.tx_count
        scale = self.scale
        n_confirmed = n_total = n_failed = n_waiting = 0.0
        top = len(self.bucket_bounds) - 1
        range_high = range_low = top
        best: tuple[int, int] | None = None
        new_range = True
        for bucket in range(top, -1, -1):
            if new_range:
                range_high = bucket
                new_range = False
            range_low = bucket
            n_confirmed += confirmed[bucket] * scale
            n_total += tx_count[bucket] * scale
            n_failed += failed[bucket] * scale
            n_waiting += waiting[bucket]
            if n_total < self.sufficient:
                continue
            if n_confirmed / (n_total + n_failed + n_waiting) < self.success_threshold:
                continue  # keep widening this failing range downwards
            best = (range_low, range_high)
            n_confirmed = n_total = n_failed = n_waiting = 0.0
            new_range = True
        if best is None:
            return None
        low, high = best
        half = sum(tx_count[low : high + 1]) / 2
        for bucket in range(low, high + 1):
            if tx_count[bucket] < half:
                half -= tx_count[bucket]
            else:
                return self.fee_rate_sum[bucket] / tx_count[bucket]
        return None


def mempool_fee_rate(rates: FeeRateSizes, capacity: int) -> float | None:
    """The fee-rate of the first transaction that does not fit in the best ``capacity`` bytes
    of the mempool (None when everything fits: then any fee above the floor will do)."""
    used = 0
    for rate, size in rates:
        used += size
        if used > capacity:
            return rate
    return None


def combine_estimates(
    estimator: FeeEstimator,
    rates: FeeRateSizes,
    block_bytes: int,
    floor: float,
    targets: Sequence[int] = ESPLORA_TARGETS,
) -> dict[int, float]:
    """Fee-rate per target: the estimator's answer where it has one, else the backlog's; never
    below ``floor``. Then made non-increasing with the target the cautious way: a target never
    gets less than any longer target (waiting less never costs less)."""
    learned = estimator.estimates(targets)
    raw: dict[int, float] = {}
    for target in targets:
        rate = learned.get(target)
        if rate is None:
            rate = mempool_fee_rate(rates, target * block_bytes)
        raw[target] = floor if rate is None else max(floor, rate)
    result: dict[int, float] = {}
    running = floor
    for target in sorted(targets, reverse=True):
        running = max(running, raw[target])
        result[target] = running
    return {target: result[target] for target in sorted(targets)}


def fee_histogram(
    rates: FeeRateSizes, bin_bytes: int = HISTOGRAM_BIN_BYTES
) -> list[tuple[float, int]]:
    """Esplora's ``fee_histogram``: ``(fee-rate, size)`` pairs, highest fee-rate first, where
    ``size`` is the bytes of the transactions paying at least that fee-rate and less than the
    previous pair's; a bin closes once it holds more than ``bin_bytes``."""
    histogram: list[tuple[float, int]] = []
    bin_size = 0
    last_rate = 0.0
    for rate, size in rates:
        if bin_size > bin_bytes and rate != last_rate:
            histogram.append((last_rate, bin_size))
            bin_size = 0
        last_rate = rate
        bin_size += size
    if bin_size > 0:
        histogram.append((last_rate, bin_size))
    return histogram
