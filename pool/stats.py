"""Hash rate estimated from share work, per pool, address and worker, over a sliding window.

Standard library and ``pool`` modules only. A share of work ``w`` (expected hashes) is evidence
of ``w`` hashes, so the hash rate over a window is the work of its shares over its length.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from pool import sharelog
from pool.sharelog import ShareLog, StoredShare


@dataclass(frozen=True, slots=True)
class _Event:
    time: float
    address: str
    worker: str
    work: int


class RateMeter:
    def __init__(self, window: float, clock: Callable[[], float] = time.time) -> None:
        self.window = window
        self.clock = clock
        self.since = clock()
        self._events: deque[_Event] = deque()

    async def load(self, log: ShareLog) -> None:
        now = self.clock()
        rows = await log.call(sharelog.shares_since, now - self.window)
        self._events = deque(_Event(t, a, w, int(work)) for t, a, w, work in rows)
        if self._events:
            self.since = min(self.since, self._events[0].time)

    def on_shares(self, stored: list[StoredShare]) -> None:
        for item in stored:
            r = item.record
            self._events.append(_Event(r.time, r.address, r.worker, r.work))
        self._trim(self.clock())

    def _trim(self, now: float) -> None:
        horizon = now - self.window
        while self._events and self._events[0].time < horizon:
            self._events.popleft()

    def _span(self, now: float) -> float:
        return max(1.0, min(self.window, now - self.since))

    def hashrate(self, address: str | None = None) -> float:
        """Hashes per second over the window (of one address, or of the pool)."""
        now = self.clock()
        self._trim(now)
        work = sum(e.work for e in self._events if address is None or e.address == address)
        return work / self._span(now)

    def miners(self) -> dict[str, dict[str, float]]:
        """Per address: hash rate, shares and last share time within the window."""
        now = self.clock()
        self._trim(now)
        span = self._span(now)
        result: dict[str, dict[str, float]] = {}
        for e in self._events:
            entry = result.setdefault(e.address, {"hashrate": 0.0, "shares": 0, "last_share": 0})
            entry["hashrate"] += e.work / span
            entry["shares"] += 1
            entry["last_share"] = e.time
        return result

    def workers(self, address: str) -> dict[str, dict[str, float]]:
        now = self.clock()
        self._trim(now)
        span = self._span(now)
        result: dict[str, dict[str, float]] = {}
        for e in self._events:
            if e.address != address:
                continue
            entry = result.setdefault(e.worker, {"hashrate": 0.0, "shares": 0, "last_share": 0})
            entry["hashrate"] += e.work / span
            entry["shares"] += 1
            entry["last_share"] = e.time
        return result
