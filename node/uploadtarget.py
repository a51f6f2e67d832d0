"""Bitcoin Core's ``-maxuploadtarget`` (``seedchain node --max-upload-target MiB``): keep the
P2P bytes sent per 24 hours under a target.

May import the standard library only.

Every P2P frame sent is counted (:meth:`UploadTarget.observer` wraps the node's frame hook) in
a cycle of ``TIMEFRAME`` seconds that starts with the first byte sent after the previous one
ended, as in Core. The target never stops relaying new blocks and transactions; it stops what
costs the most and helps the network least, as Core does:

* **historical blocks** (older than a week than the tip, by block time) are served only while
  the bytes left in the cycle exceed a buffer of one maximum-size block per 10 minutes left
  (:meth:`reached` with ``historical``); past that, a peer asking for one is disconnected
  (``upload_target``, not a misbehaviour);
* a ``mempool`` request once the target itself is reached: the peer is disconnected.

Whitelisted peers (``--whitelist``, Core's download permission) are exempt. ``0`` is no target.
``GET /v1/node`` shows :meth:`status` (Core's ``getnettotals`` ``uploadtarget``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

TIMEFRAME = 24 * 60 * 60  # Core's MAX_UPLOAD_TIMEFRAME
HISTORICAL_BLOCK_AGE = 7 * 24 * 60 * 60  # Core's HISTORICAL_BLOCK_AGE
BLOCK_INTERVAL = 600  # the buffer keeps one block per this many seconds left in the cycle

FrameObserver = Callable[[str, str, int], None]


class UploadTarget:
    def __init__(
        self, target: int, max_block_size: int, clock: Callable[[], float] = time.time
    ) -> None:
        if target < 0:
            raise ValueError("the upload target must be >= 0")
        self.target = target
        self.max_block_size = max_block_size
        self.clock = clock
        self.cycle_start: float | None = None  # None: no byte sent since the last cycle
        self.sent_in_cycle = 0

    def observer(self, inner: FrameObserver) -> FrameObserver:
        """A frame hook that counts what is sent here and then calls ``inner`` (``inner``
        itself without a target: nothing to count)."""
        if not self.target:
            return inner

        def observe(direction: str, command: str, size: int) -> None:
            if direction == "out":
                self.record(size)
            inner(direction, command, size)

        return observe

    def record(self, size: int) -> None:
        now = self.clock()
        if self.cycle_start is None or now >= self.cycle_start + TIMEFRAME:
            self.cycle_start, self.sent_in_cycle = now, 0
        self.sent_in_cycle += size

    def time_left(self) -> int:
        """Seconds left in the cycle (the whole timeframe before the first byte)."""
        if not self.target:
            return 0
        if self.cycle_start is None:
            return TIMEFRAME
        return max(0, int(self.cycle_start + TIMEFRAME - self.clock()))

    def _sent(self) -> int:
        if self.cycle_start is None or self.clock() >= self.cycle_start + TIMEFRAME:
            return 0
        return self.sent_in_cycle

    def reached(self, *, historical: bool = False) -> bool:
        """Whether the target is reached; with ``historical``, whether serving old blocks must
        stop (the buffer of a block per 10 minutes left would not fit any more)."""
        if not self.target:
            return False
        if historical:
            buffer = self.time_left() // BLOCK_INTERVAL * self.max_block_size
            return buffer >= self.target or self._sent() >= self.target - buffer
        return self._sent() >= self.target

    def status(self) -> dict[str, Any]:
        sent = self._sent()
        return {
            "timeframe": TIMEFRAME,
            "target": self.target,
            "target_reached": self.reached(),
            "serve_historical_blocks": not self.reached(historical=True),
            "bytes_left_in_cycle": max(0, self.target - sent) if self.target else 0,
            "time_left_in_cycle": self.time_left(),
        }


def is_historical(block_time: int, tip_time: int) -> bool:
    return tip_time - block_time > HISTORICAL_BLOCK_AGE
