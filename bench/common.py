"""Shared pieces of the benchmarks: the Ed25519 verification ceiling and JSON output."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402


def ed25519_verify_ceiling(n: int = 4000) -> float:
    """Verifications per second of ``cryptography``'s Ed25519 on one core, same process."""
    jobs = []
    for i in range(n):
        key = Ed25519PrivateKey.from_private_bytes(i.to_bytes(32, "big"))
        message = os.urandom(32)
        jobs.append((key.public_key(), key.sign(message), message))
    start = time.perf_counter()
    for public, signature, message in jobs:
        public.verify(signature, message)
    return n / (time.perf_counter() - start)


def emit(result: dict[str, object]) -> None:
    print(json.dumps(result, sort_keys=True))
