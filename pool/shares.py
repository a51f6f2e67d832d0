"""Share validation: rebuild the header exactly as the miner did and judge it.

May import consensus, the standard library and ``pool`` modules. No I/O: the session calls
:func:`parse_submit` and :func:`check_share`; both raise the Stratum error of the first failed
check. The order of checks (docs/pool.md) is: not subscribed (25) and unauthorized worker (24)
in the session, then here: malformed parameters — wrong count, extranonce2 not 4 bytes of hex,
ntime or nonce not 8 hex digits (20); job unknown or stale (21); ntime outside
``[template min_time, now + max_future]`` or version bits outside the negotiated mask (20);
duplicate header on this tip (22); hash above the share target (23).

The header is ``version | prevhash | merkle root | ntime | nbits | nonce`` (little-endian
u32s) where the merkle root folds the Stratum branch onto ``sha256d(coinb1 || extranonce1 ||
extranonce2 || coinb2)`` — the coinbase's wtxid — and ``version`` is
``(job version & ~mask) | (version_bits & mask)`` under BIP 310 version rolling.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from consensus.coinbase import EXTRANONCE2_SIZE
from pool.errors import DuplicateShare, JobNotFound, LowDifficultyShare, OtherError
from pool.jobs import Job
from pool.wire import parse_fixed_hex, parse_u32_hex

_HEADER = struct.Struct("<I32s32sIII")
_sha256 = hashlib.sha256
MAX_WORKER_NAME = 128


@dataclass(frozen=True, slots=True)
class Submission:
    """``mining.submit [worker, job_id, extranonce2, ntime, nonce(, version_bits)]``."""

    worker: str
    job_id: str
    extranonce2: bytes
    ntime: int
    nonce: int
    version_bits: int | None


@dataclass(frozen=True, slots=True)
class CheckedShare:
    header: bytes
    hash: bytes  # internal byte order
    coinbase: bytes
    is_block: bool


def parse_submit(params: Any) -> Submission:
    """Parse ``mining.submit`` params; :class:`OtherError` (20) for anything malformed."""
    if not isinstance(params, list) or len(params) not in (5, 6):
        raise OtherError("mining.submit takes 5 or 6 parameters")
    worker, job_id = params[0], params[1]
    if not isinstance(worker, str) or not isinstance(job_id, str) or len(job_id) > 64:
        raise OtherError("worker and job id must be strings")
    try:
        extranonce2 = parse_fixed_hex(params[2], EXTRANONCE2_SIZE)
    except ValueError:
        raise OtherError(f"extranonce2 must be {EXTRANONCE2_SIZE} bytes of hex") from None
    try:
        ntime = parse_u32_hex(params[3])
    except ValueError:
        raise OtherError("ntime must be 8 hex digits") from None
    try:
        nonce = parse_u32_hex(params[4])
    except ValueError:
        raise OtherError("nonce must be 8 hex digits") from None
    version_bits = None
    if len(params) == 6:
        try:
            version_bits = parse_u32_hex(params[5])
        except ValueError:
            raise OtherError("version bits must be 8 hex digits") from None
    return Submission(worker, job_id, extranonce2, ntime, nonce, version_bits)


def merkle_root(coinbase: bytes, branch: tuple[bytes, ...]) -> bytes:
    root = _sha256(_sha256(coinbase).digest()).digest()
    for sibling in branch:
        root = _sha256(_sha256(root + sibling).digest()).digest()
    return root


def check_share(
    job: Job | None,
    extranonce1: bytes,
    submission: Submission,
    *,
    version_mask: int,
    share_target: int,
    now: int,
    max_future: int,
    seen: Callable[[bytes], bool],
) -> CheckedShare:
    """Judge a parsed submission against ``job`` (None: unknown or stale)."""
    if job is None:
        raise JobNotFound("job not found (stale)")
    template = job.template
    ntime = submission.ntime
    if ntime < template.min_time or ntime > now + max_future:
        raise OtherError("ntime out of range")
    version = template.version
    bits = submission.version_bits
    if bits is not None:
        if bits & ~version_mask:
            raise OtherError("version bits outside the negotiated mask")
        version = (version & ~version_mask) | (bits & version_mask)
    coinbase = job.coinb1 + extranonce1 + submission.extranonce2 + job.coinb2
    root = merkle_root(coinbase, template.merkle_branch)
    header = _HEADER.pack(
        version, template.previous_hash, root, ntime, template.bits, submission.nonce
    )
    header_hash = _sha256(_sha256(header).digest()).digest()
    if seen(header_hash):
        raise DuplicateShare("duplicate share")
    value = int.from_bytes(header_hash, "little")
    if value > share_target:
        raise LowDifficultyShare("low difficulty share")
    return CheckedShare(header, header_hash, coinbase, value <= template.target)
