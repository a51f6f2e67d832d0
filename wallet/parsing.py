"""What a user types for a send: an address, a fee rate; and the fee rate from the node's estimates.

May import the standard library, ``consensus`` and ``wallet`` modules (never ``node``, ``p2p``,
``pool``, ``mining`` or ``seedchain``). Pure functions, no I/O.
"""

from __future__ import annotations

import math

from consensus.addresses import address_to_lock, lock_to_address
from consensus.errors import AddressError
from consensus.params import ChainParams
from wallet.errors import InvalidAddress, InvalidFeeRate

FEE_TARGET = 6
"""Default confirmation target (blocks) for the fee rate from ``/v1/fee-estimates``."""
MAX_FEE_RATE = 100_000
"""Units per byte above which a fee rate is refused as a typo (100,000 x 200 bytes = 0.2 coin)."""


def parse_address(text: str, params: ChainParams) -> bytes:
    """The lock an address pays on ``params``' network; :class:`InvalidAddress` with a clear
    reason (bad checksum, another network, malformed) otherwise."""
    shown = text if len(text) <= 100 else text[:97] + "..."
    try:
        return address_to_lock(text.strip(), params.hrp)
    except AddressError as exc:
        raise InvalidAddress(f"invalid address {shown!r}: {exc}", exc.code) from None


def canonical_address(text: str, params: ChainParams) -> str:
    """An address of ``params``' network in its one written form (lower case, no spaces),
    as labels and frozen addresses are stored; :class:`InvalidAddress` otherwise."""
    return lock_to_address(parse_address(text, params), params.hrp)


def parse_fee_rate(text: str) -> int:
    """A fee rate given by the user: a whole number of units per byte, 1..MAX_FEE_RATE."""
    stripped = text.strip()
    if not stripped.isascii() or not stripped.isdigit():
        raise InvalidFeeRate(
            f"invalid fee rate {stripped[:32]!r}: expected a whole number of units per byte"
        )
    rate = int(stripped)
    if not 1 <= rate <= MAX_FEE_RATE:
        raise InvalidFeeRate(f"fee rate must be between 1 and {MAX_FEE_RATE} units per byte")
    return rate


def rate_from_estimates(estimates: dict[int, float], target: int = FEE_TARGET) -> int:
    """The estimate for ``target`` blocks (or the nearest slower target, or the slowest known),
    rounded up to whole units per byte, at least 1."""
    if not estimates:
        return 1
    slower = sorted(t for t in estimates if t >= target)
    chosen = slower[0] if slower else max(estimates)
    return max(1, math.ceil(estimates[chosen]))
