"""Share validation throughput on one core: ``mining.submit`` lines per second through
everything a Stratum session does per share except the database — JSON decoding, parameter
parsing, the job lookup, rebuilding the coinbase, the merkle root (a 12-hash branch, a block of
~4,000 transactions), the header and its sha256d, the duplicate check, the target comparison
and the JSON answer — against the ceiling of raw ``hashlib`` sha256d of 80-byte headers per
second measured in the same run (a share costs at least one such hash). Best of ``--runs``.

    python bench/pool_shares.py [--shares N] [--runs R]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import time

from common import emit

from consensus.params import REGTEST
from pool.accounting import JobPayout
from pool.jobs import build_job
from pool.nodeclient import Template
from pool.rewards import coinbase_payout
from pool.shares import check_share, parse_submit
from pool.wire import MAX_TARGET, response

OPERATOR = "rsc1qxhhm8d24ltkl255fsxdlfvdhjvvd0mpsuygj4r"
BRANCH = 12
NOW = 1_900_000_000


def make_job() -> tuple[object, dict[str, object]]:
    branch = tuple(hashlib.sha256(b"branch %d" % i).digest() for i in range(BRANCH))
    template = Template(
        height=123_456,
        previous_hash=hashlib.sha256(b"previous").digest(),
        version=0x20000000,
        bits=0x1D020000,
        target=1 << 225,
        time=NOW,
        min_time=NOW - 3600,
        transactions=(),
        fees=0,
        reward=50 * 10**8,
        merkle_branch=branch,
    )
    miners = {f"rsc1miner{i:03d}": 50 * 10**8 // 20 for i in range(20)}
    payout = coinbase_payout(50 * 10**8, miners, 0, {}, OPERATOR, 0, 250)
    # twenty payouts make a realistic coinbase size; the addresses are placeholders, so pay
    # them all to the operator's lock: only the coinbase's length matters to validation
    outputs = tuple((OPERATOR, value) for _, value in payout.outputs)
    payout = type(payout)(payout.reward, 0, OPERATOR, 0, outputs, ())
    job = build_job(
        "1", template, JobPayout("pplns", 0, 0, payout), REGTEST.hrp, b"/bench/", None, 1, NOW
    )
    return job, {"1": job}


def make_lines(count: int) -> list[bytes]:
    return [
        json.dumps(
            {
                "id": i,
                "method": "mining.submit",
                "params": ["worker", "1", struct.pack("<I", i).hex(), f"{NOW:08x}", f"{i:08x}"],
            }
        ).encode()
        for i in range(count)
    ]


def validate_all(lines: list[bytes], jobs: dict[str, object], extranonce1: bytes) -> float:
    seen: set[bytes] = set()

    def is_seen(h: bytes) -> bool:
        if h in seen:
            return True
        seen.add(h)
        return False

    start = time.perf_counter()
    for line in lines:
        message = json.loads(line)
        submission = parse_submit(message["params"])
        checked = check_share(
            jobs.get(submission.job_id),  # type: ignore[arg-type]
            extranonce1,
            submission,
            version_mask=0,
            share_target=MAX_TARGET,
            now=NOW,
            max_future=600,
            seen=is_seen,
        )
        response(message["id"], checked.is_block or True)
    return len(lines) / (time.perf_counter() - start)


def sha256d_ceiling(count: int) -> float:
    headers = [os.urandom(80) for _ in range(count)]
    sha256 = hashlib.sha256
    start = time.perf_counter()
    for header in headers:
        sha256(sha256(header).digest()).digest()
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shares", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    _, jobs = make_job()
    lines = make_lines(args.shares)
    extranonce1 = bytes.fromhex("0badf00d")
    figure = max(validate_all(lines, jobs, extranonce1) for _ in range(args.runs))
    ceiling = max(sha256d_ceiling(args.shares) for _ in range(args.runs))
    emit(
        {
            "bench": "pool_share_validation",
            "shares_per_second": round(figure),
            "ceiling_sha256d_80_byte_per_second": round(ceiling),
            "ratio": round(figure / ceiling, 4),
            # a share hashes the coinbase, each branch step and the header: the hashing bound
            "sha256d_per_share": BRANCH + 2,
            "ratio_to_hashing_bound": round(figure / (ceiling / (BRANCH + 2)), 3),
            "target_shares_per_second": 20_000,
            "meets_target": figure >= 20_000,
            "branch_length": BRANCH,
            "shares": args.shares,
            "runs": args.runs,
        }
    )


if __name__ == "__main__":
    main()
