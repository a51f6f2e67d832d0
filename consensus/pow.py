"""Proof of work: Bitcoin's compact targets, the work a block proves, and aserti3-2d.

Standard library only; pure functions, no clock. Invalid *input from the network* (a header's
``bits``, a hash above its target) raises the typed errors of :mod:`consensus.errors`;
arguments that no caller should ever pass (a negative height difference, a zero half-life, a
hash that is not 32 bytes) raise ``ValueError``.

* :func:`decode_compact` / :func:`compact_to_target` / :func:`target_to_compact` are Bitcoin
  Core's ``arith_uint256::SetCompact`` / ``GetCompact``.
* :func:`check_proof_of_work` is Core's ``CheckProofOfWork``; :func:`block_work` is
  ``GetBlockProof``.
* :func:`calculate_asert` mirrors Bitcoin Cash Node's ``CalculateASERT`` (aserti3-2d, the
  absolutely scheduled exponentially rising target) bit for bit, and :func:`next_bits_asert`
  applies it with the genesis block as the anchor.
"""

from __future__ import annotations

from consensus.errors import BadCompactBits, HighHash

UINT256_MAX = (1 << 256) - 1
UINT32_MAX = 0xFFFFFFFF

_SIGN_BIT = 0x00800000
_MANTISSA_MASK = 0x007FFFFF


# --- compact encoding ---------------------------------------------------------------------
def decode_compact(bits: int) -> tuple[int, bool, bool]:
    """Decode ``bits`` exactly as Bitcoin's ``arith_uint256::SetCompact``.

    Returns ``(target, negative, overflow)``. The top byte is a base-256 exponent, the low 23
    bits the mantissa and bit 23 a sign. ``negative`` is set for a nonzero mantissa with the
    sign bit; ``overflow`` when the value does not fit in 256 bits (the target is then what the
    256-bit shift leaves, as in Core). Raises ``ValueError`` unless ``bits`` is a u32.
    """
    if not 0 <= bits <= UINT32_MAX:
        raise ValueError(f"compact bits must be a u32, got {bits}")
    size = bits >> 24
    word = bits & _MANTISSA_MASK
    if size <= 3:
        word >>= 8 * (3 - size)
        target = word
    else:
        target = (word << (8 * (size - 3))) & UINT256_MAX
    negative = word != 0 and (bits & _SIGN_BIT) != 0
    overflow = word != 0 and (
        size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32)
    )
    return target, negative, overflow


def compact_to_target(bits: int) -> int:
    """The target a header's ``bits`` encode.

    Raises ``BadCompactBits`` for an encoding Bitcoin rejects: not a u32, negative (sign bit
    with a nonzero mantissa), overflowing 256 bits, or a zero target.
    """
    if not 0 <= bits <= UINT32_MAX:
        raise BadCompactBits(f"bits {bits} is not a u32")
    target, negative, overflow = decode_compact(bits)
    if negative:
        raise BadCompactBits(f"bits {bits:#010x} encode a negative target")
    if overflow:
        raise BadCompactBits(f"bits {bits:#010x} overflow 256 bits")
    if target == 0:
        raise BadCompactBits(f"bits {bits:#010x} encode a zero target")
    return target


def target_to_compact(target: int) -> int:
    """Encode ``target`` as Bitcoin's ``arith_uint256::GetCompact`` (never negative).

    The mantissa keeps the top three significant bytes (lower bits are truncated); if its top
    bit would land on the sign bit, the mantissa is shifted one byte right and the exponent
    grows by one. Raises ``ValueError`` unless ``0 <= target < 2**256``.
    """
    if not 0 <= target <= UINT256_MAX:
        raise ValueError("a target is a 256-bit unsigned integer")
    size = (target.bit_length() + 7) // 8
    # The top three bytes of the target, as they sit in the mantissa.
    compact = target << (8 * (3 - size)) if size <= 3 else target >> (8 * (size - 3))
    if compact & _SIGN_BIT:
        compact >>= 8
        size += 1
    return compact | (size << 24)


# --- proof of work ------------------------------------------------------------------------
def check_proof_of_work(block_hash: bytes, bits: int, pow_limit: int) -> None:
    """Check a header's proof of work, as Bitcoin Core's ``CheckProofOfWork``.

    ``block_hash`` is in internal byte order, so it is read as a little-endian integer.
    Raises ``BadCompactBits`` if ``bits`` is invalid or its target exceeds ``pow_limit``, and
    ``HighHash`` if the hash is above the target.
    """
    if len(block_hash) != 32:
        raise ValueError(f"a block hash is 32 bytes, got {len(block_hash)}")
    target = compact_to_target(bits)
    if target > pow_limit:
        raise BadCompactBits(f"bits {bits:#010x} target is above the proof-of-work limit")
    if int.from_bytes(block_hash, "little") > target:
        raise HighHash(f"hash {block_hash[::-1].hex()} is above the target of {bits:#010x}")


def block_work(bits: int) -> int:
    """The expected number of hashes a block with ``bits`` proves: ``2**256 // (target + 1)``.

    Bitcoin Core's ``GetBlockProof`` (which returns 0 for invalid bits; here invalid bits raise
    ``BadCompactBits``, since a header that reaches this point has already been checked).
    """
    return (1 << 256) // (compact_to_target(bits) + 1)


def difficulty(bits: int, pow_limit_bits: int) -> float:
    """How many times harder than the easiest block ``bits`` is: limit target / target.

    For display only: floats never take part in consensus.
    """
    return compact_to_target(pow_limit_bits) / compact_to_target(bits)


# --- aserti3-2d -----------------------------------------------------------------------------
def _div_trunc(numerator: int, denominator: int) -> int:
    """Integer division rounding toward zero, like C++ ``/`` (``denominator > 0``)."""
    quotient = abs(numerator) // denominator
    return -quotient if numerator < 0 else quotient


def calculate_asert(
    ref_target: int,
    spacing: int,
    time_diff: int,
    height_diff: int,
    pow_limit: int,
    half_life: int,
) -> int:
    """The aserti3-2d target, mirroring Bitcoin Cash Node's ``CalculateASERT``.

    ``next = ref_target * 2 ** ((time_diff - spacing * (height_diff + 1)) / half_life)``,
    computed with integers only: the exponent in 16-bit fixed point (C++ division, which
    truncates toward zero), split into whole shifts (an arithmetic shift, which floors) and a
    fraction whose power of two is a cubic approximation. ``time_diff`` is measured from the
    *parent* of the reference (anchor) block, ``height_diff`` from the anchor itself. The
    result is clamped to ``[1, pow_limit]``; a left shift that would overflow 256 bits clamps
    to ``pow_limit`` as BCHN's overflow check does.

    BCHN asserts ``pow_limit < 2**224`` so the product ``ref_target * factor`` fits in 256
    bits; Python integers compute that product exactly, so the result is the same wherever
    BCHN's is defined, and this function also accepts larger limits.

    Raises ``ValueError`` unless ``1 <= ref_target <= pow_limit``, ``height_diff >= 0``,
    ``half_life > 0`` (and ``pow_limit < 2**256``).
    """
    if not 0 < pow_limit <= UINT256_MAX:
        raise ValueError("pow_limit must be a positive 256-bit integer")
    if not 1 <= ref_target <= pow_limit:
        raise ValueError("ref_target must be in 1..pow_limit")
    if height_diff < 0:
        raise ValueError(f"height_diff must not be negative, got {height_diff}")
    if half_life <= 0:
        raise ValueError(f"half_life must be positive, got {half_life}")

    exponent = _div_trunc((time_diff - spacing * (height_diff + 1)) * 65536, half_life)
    shifts = exponent >> 16  # arithmetic shift: floor, so frac is always in [0, 65536)
    frac = exponent & 0xFFFF
    # 2**x ~= 1 + 0.695502049*x + 0.2262698*x**2 + 0.0782318*x**3 for 0 <= x < 1, in 16.48 fixed
    # point: error under 0.013%. Every term fits in BCHN's uint64 arithmetic, so no wrapping.
    factor = 65536 + (
        (195766423245049 * frac + 971821376 * frac**2 + 5127 * frac**3 + (1 << 47)) >> 48
    )
    next_target = ref_target * factor

    shifts -= 16  # undo the 16-bit fixed point of factor
    if shifts <= 0:
        next_target >>= -shifts
    elif shifts >= 256 or (next_target << shifts) > UINT256_MAX:
        # BCHN: the 256-bit shift would discard high bits; with wider integers the value would
        # be >= 2**256, so it would have ended up as pow_limit anyway.
        next_target = pow_limit
    else:
        next_target <<= shifts

    if next_target == 0:
        return 1  # 0 is not a valid target, but 1 is
    return min(next_target, pow_limit)


def next_bits_asert(
    anchor_bits: int,
    anchor_time: int,
    anchor_height: int,
    parent_time: int,
    parent_height: int,
    spacing: int,
    half_life: int,
    pow_limit: int,
) -> int:
    """The ``bits`` required of the block after ``parent``, by aserti3-2d anchored at genesis.

    ASERT measures time from the anchor block's *parent*. The genesis block has none, so by
    convention its parent's time is ``anchor_time - spacing`` (an ideally spaced parent):

    * ``time_diff = parent_time - (anchor_time - spacing)``
    * ``height_diff = parent_height - anchor_height``

    so a chain exactly on schedule keeps the genesis bits (the block right after genesis, with
    ``parent`` = genesis, needs ``anchor_bits``). The target is re-encoded with
    :func:`target_to_compact`. Raises ``BadCompactBits`` for invalid ``anchor_bits`` and
    ``ValueError`` for a parent below the anchor (see :func:`calculate_asert`).
    """
    anchor_parent_time = anchor_time - spacing
    target = calculate_asert(
        compact_to_target(anchor_bits),
        spacing,
        parent_time - anchor_parent_time,
        parent_height - anchor_height,
        pow_limit,
        half_life,
    )
    return target_to_compact(target)
