"""Mempool policy: the knobs (``MempoolPolicy``) and the standardness checks on a lone transaction.

May import consensus and the standard library. Policy is what this node relays and mines, on top
of the consensus rules; its failures raise ``node.mempool_errors`` classes. Fee-rates are whole
base units per byte of the canonical encoding (Seedchain has no witness discount: size is size).
Fees are compared in exact integer arithmetic: ``fee >= rate * size``.
"""

from __future__ import annotations

from dataclasses import dataclass

from consensus.encoding import bin_size, uint_size
from consensus.transaction import MAX_LOCK_SIZE, MAX_TX_SIZE, Transaction, TxOut
from node.mempool_errors import DustOutput, NonStandardVersion, TxSizeNonStandard

STANDARD_TX_VERSION = 1
# The bytes an input adds to the transaction that spends an output: [prev_txid, vout] (36) and
# its witness [pubkey, signature] (101). Bitcoin Core's dust rule charges the same: the output's
# own size plus the input that will one day spend it (148 bytes for P2PKH there).
SPEND_INPUT_SIZE = 36 + 101
# The largest an output can encode to: array header, a 9-byte integer, a bin16 lock.
MAX_OUTPUT_SIZE = 1 + 9 + 3 + MAX_LOCK_SIZE
DAY = 24 * 60 * 60
DEFAULT_MAX_FEE_RATE = 10_000
"""The fee rate, units/byte, above which ``POST /v1/tx`` refuses a transaction unless its caller
allows more (Core's sendrawtransaction ``maxfeerate``, 0.10 coin/kB): a guard for the caller,
never a relay rule (``accept_one``'s ``max_fee_rate``)."""


@dataclass(frozen=True, slots=True)
class MempoolPolicy:
    """What the mempool accepts and how big it may grow. Defaults follow Bitcoin Core's.

    Fee-rates are base units per byte. Sizes are bytes of canonical encoding.
    """

    min_relay_fee_rate: int = 1
    incremental_relay_fee_rate: int = 1
    dust_relay_fee_rate: int = 3
    max_bytes: int = 50_000_000
    expiry_seconds: int = 14 * DAY
    max_standard_tx_size: int = MAX_TX_SIZE
    max_ancestor_count: int = 25
    max_ancestor_size: int = 101_000
    max_descendant_count: int = 25
    max_descendant_size: int = 101_000
    max_replacements: int = 100
    full_rbf: bool = True
    max_orphans: int = 100
    max_orphan_bytes: int = 5_000_000
    max_orphan_tx_size: int = MAX_TX_SIZE
    orphan_expiry_seconds: int = 20 * 60
    rolling_fee_half_life: int = 12 * 60 * 60

    def __post_init__(self) -> None:
        for name in (
            "min_relay_fee_rate",
            "incremental_relay_fee_rate",
            "dust_relay_fee_rate",
            "max_replacements",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in (
            "max_bytes",
            "expiry_seconds",
            "max_standard_tx_size",
            "max_ancestor_count",
            "max_ancestor_size",
            "max_descendant_count",
            "max_descendant_size",
            "max_orphans",
            "max_orphan_bytes",
            "max_orphan_tx_size",
            "orphan_expiry_seconds",
            "rolling_fee_half_life",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")


def output_size(out: TxOut) -> int:
    """The size of ``out`` in the canonical encoding (``[value, lock]``)."""
    return 1 + uint_size(out.value) + bin_size(len(out.lock))


def dust_threshold(out: TxOut, dust_relay_fee_rate: int) -> int:
    """The smallest value ``out`` may carry: what creating and later spending it costs at the
    dust relay fee-rate (Bitcoin Core's ``GetDustThreshold``)."""
    return dust_relay_fee_rate * (output_size(out) + SPEND_INPUT_SIZE)


def is_dust(out: TxOut, dust_relay_fee_rate: int) -> bool:
    return out.value < dust_threshold(out, dust_relay_fee_rate)


def check_standard(tx: Transaction, policy: MempoolPolicy) -> None:
    """Standardness of a transaction on its own (Bitcoin Core's ``IsStandardTx``)."""
    if tx.version != STANDARD_TX_VERSION:
        raise NonStandardVersion(f"version {tx.version} (only {STANDARD_TX_VERSION} is relayed)")
    if tx.size > policy.max_standard_tx_size:
        raise TxSizeNonStandard(
            f"transaction of {tx.size} bytes is over {policy.max_standard_tx_size}"
        )
    rate = policy.dust_relay_fee_rate
    for index, out in enumerate(tx.outputs):
        # Cheap first test: no output's threshold is above the largest output's.
        if out.value < rate * (MAX_OUTPUT_SIZE + SPEND_INPUT_SIZE) and is_dust(out, rate):
            raise DustOutput(
                f"output {index} of {out.value} is below the dust threshold "
                f"{dust_threshold(out, rate)}"
            )


class RollingFeeFloor:
    """Bitcoin Core's rolling minimum fee-rate (``GetMinFee`` / ``trackPackageRemoved``).

    Evicting a package raises the floor to the package's fee-rate plus the incremental relay
    fee-rate, so that what comes in next pays more than what just left. Once a block has arrived
    since the last raise, the floor halves every ``half_life`` seconds (four times faster while
    the mempool is under a quarter of its cap, twice as fast under half) and drops to zero
    below half the incremental fee-rate. A float of units per byte, like Core's double: it only
    sets a threshold, and fees are compared against it in integer milli-units.
    """

    def __init__(self, half_life: int, incremental_fee_rate: int) -> None:
        self.half_life = half_life
        self.incremental_fee_rate = incremental_fee_rate
        self.rate = 0.0
        self.updated = 0
        self.block_since_bump = False

    def state(self) -> tuple[float, int, bool]:
        return self.rate, self.updated, self.block_since_bump

    def restore(self, state: tuple[float, int, bool]) -> None:
        self.rate, self.updated, self.block_since_bump = state

    def current(self, now: int, usage: int, limit: int) -> float:
        """The floor at ``now`` for a mempool of ``usage`` bytes out of ``limit`` (no change)."""
        rate, _ = self._decayed(now, usage, limit)
        if not self.block_since_bump or rate == 0:
            return rate
        return max(rate, float(self.incremental_fee_rate))

    def decay(self, now: int, usage: int, limit: int) -> None:
        """Store the decay up to ``now`` (Core does so whenever it reads the floor)."""
        rate, decayed = self._decayed(now, usage, limit)
        if decayed:
            self.rate, self.updated = rate, now

    def bump(self, rate: float) -> None:
        """A package paying ``rate`` (plus the incremental fee-rate, added here) was evicted."""
        rate += self.incremental_fee_rate
        if rate > self.rate:
            self.rate = rate
            self.block_since_bump = False

    def block_arrived(self, now: int, usage: int, limit: int) -> None:
        self.decay(now, usage, limit)
        self.updated = now
        self.block_since_bump = True

    def _decayed(self, now: int, usage: int, limit: int) -> tuple[float, bool]:
        rate = self.rate
        if not self.block_since_bump or rate == 0 or now <= self.updated + 10:
            return rate, False
        half_life = float(self.half_life)
        if usage < limit // 4:
            half_life /= 4
        elif usage < limit // 2:
            half_life /= 2
        rate /= 2 ** ((now - self.updated) / half_life)
        if rate < self.incremental_fee_rate / 2:
            rate = 0.0
        return rate, True
