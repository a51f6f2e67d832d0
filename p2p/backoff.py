"""Exponential backoff with jitter, for redialling configured peers. Standard library only."""

from __future__ import annotations

import random


class Backoff:
    """Delays ``initial``, ``2 * initial``, ... up to ``maximum``, each jittered by ±20% so
    that many nodes restarting together do not redial in lock step."""

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None) -> None:
        if not 0 < initial <= maximum:
            raise ValueError("need 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        self._rng = rng or random.Random()
        self._next = initial

    def next_delay(self) -> float:
        """The delay before the next attempt; each call doubles the following one."""
        delay = self._next
        self._next = min(self._next * 2, self.maximum)
        return delay * self._rng.uniform(0.8, 1.2)

    def reset(self) -> None:
        """After a success: start again from ``initial``."""
        self._next = self.initial
