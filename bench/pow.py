"""Proof-of-work throughput: MH/s of each backend (native, hashlib) at 1..N threads against
the ceiling measured in the same run (hashlib SHA-256 on 16 KiB buffers at 2 compressions per
nonce, measured with N threads). Prints the rows as JSON; same numbers as
``seedchain bench pow --json``.

    python bench/pow.py [--seconds S] [--threads N] [--variants]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mining.bench import bench_pow, default_thread_counts  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--variants", action="store_true", help="also each native variant")
    args = parser.parse_args()
    rows = bench_pow(args.seconds, default_thread_counts(args.threads), all_variants=args.variants)
    print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
