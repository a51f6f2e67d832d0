"""Per-peer traffic statistics: bytes and messages in and out, by command, and ping latency.

Standard library only.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class PeerStats:
    connected_at: float = field(default_factory=time.monotonic)
    bytes_in: int = 0
    bytes_out: int = 0
    messages_in: int = 0
    messages_out: int = 0
    bytes_in_by_command: Counter[str] = field(default_factory=Counter)
    bytes_out_by_command: Counter[str] = field(default_factory=Counter)
    messages_in_by_command: Counter[str] = field(default_factory=Counter)
    messages_out_by_command: Counter[str] = field(default_factory=Counter)
    last_received: float | None = None  # time.monotonic()
    last_sent: float | None = None
    latency: float | None = None  # the last ping round trip, seconds
    min_latency: float | None = None
    # When it last sent a transaction new to our mempool / a block new to our chain (set by the
    # node, which alone knows): inbound eviction protects such peers (p2p.eviction).
    last_tx_at: float | None = None
    last_block_at: float | None = None
    # Called with ("in" | "out", command, bytes) for every frame: how the node's metrics see the
    # traffic without p2p importing them.
    observer: Callable[[str, str, int], None] | None = None

    def received(self, command: str, size: int) -> None:
        self.bytes_in += size
        self.messages_in += 1
        self.bytes_in_by_command[command] += size
        self.messages_in_by_command[command] += 1
        self.last_received = time.monotonic()
        if self.observer is not None:
            self.observer("in", command, size)

    def sent(self, command: str, size: int) -> None:
        self.bytes_out += size
        self.messages_out += 1
        self.bytes_out_by_command[command] += size
        self.messages_out_by_command[command] += 1
        self.last_sent = time.monotonic()
        if self.observer is not None:
            self.observer("out", command, size)

    def record_latency(self, seconds: float) -> None:
        self.latency = seconds
        if self.min_latency is None or seconds < self.min_latency:
            self.min_latency = seconds

    def summary(self) -> dict[str, Any]:
        """Totals for a log event."""
        return {
            "seconds": round(time.monotonic() - self.connected_at, 3),
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "messages_in": self.messages_in,
            "messages_out": self.messages_out,
            "latency_ms": None if self.latency is None else round(self.latency * 1000, 3),
        }
