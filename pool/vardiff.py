"""Variable difficulty per connection: aim at one share every ``target_interval`` seconds.

Standard library only; the clock comes in as an argument. Like ckpool's vardiff, the rate is
measured as difficulty-weighted shares per second since the last change, and the difficulty is
retargeted after ``retarget_shares`` shares or ``retarget_time`` seconds, whichever comes first
(so a fast miner at a too-low difficulty converges within a few shares, and a stalled one is
eased after ``retarget_time`` without shares). A change happens only when the optimum is at
least twice or at most half the current value (hysteresis); the new value is the optimum
rounded to a power of two (exact in JSON and as a float), at most ``max_step`` times higher,
within ``[floor, max_difficulty]`` where the floor is the larger of ``min_difficulty`` and the
miner's own ``mining.suggest_difficulty``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pool.wire import MIN_DIFFICULTY, quantize_difficulty


@dataclass(frozen=True)
class VardiffConfig:
    initial_difficulty: float = 1.0
    min_difficulty: float = MIN_DIFFICULTY
    max_difficulty: float = 2.0**30  # keeps a share's work below 2**63 (SQLite integers)
    target_interval: float = 10.0
    retarget_shares: int = 12
    retarget_time: float = 30.0
    max_step: float = 64.0
    enabled: bool = True

    def __post_init__(self) -> None:
        for name in ("initial_difficulty", "min_difficulty", "max_difficulty"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number")
        if self.min_difficulty < MIN_DIFFICULTY:
            raise ValueError("min_difficulty must be at least 2**-32 (cpuminer's smallest)")
        if self.min_difficulty > self.max_difficulty or self.max_difficulty > 2.0**30:
            raise ValueError("need min_difficulty <= max_difficulty <= 2**30")
        if self.target_interval <= 0 or self.retarget_time <= 0 or self.retarget_shares < 1:
            raise ValueError("vardiff intervals and share counts must be positive")


class Vardiff:
    def __init__(self, config: VardiffConfig, now: float) -> None:
        self.config = config
        self.floor = config.min_difficulty
        self.difficulty = self._clamp(config.initial_difficulty)
        self._since = now
        self._shares = 0
        self._work = 0.0

    def _clamp(self, difficulty: float) -> float:
        value = min(self.config.max_difficulty, max(self.floor, difficulty))
        return min(self.config.max_difficulty, max(self.floor, quantize_difficulty(value)))

    def _set(self, difficulty: float, now: float) -> float | None:
        self._since, self._shares, self._work = now, 0, 0.0
        if difficulty == self.difficulty:
            return None
        self.difficulty = difficulty
        return difficulty

    def suggest(self, difficulty: float, now: float) -> float | None:
        """``mining.suggest_difficulty``: becomes the floor and the current value."""
        if not math.isfinite(difficulty) or difficulty <= 0:
            raise ValueError("difficulty must be positive")
        self.floor = min(self.config.max_difficulty, max(self.config.min_difficulty, difficulty))
        return self._set(self._clamp(difficulty), now)

    def on_share(self, difficulty: float, now: float) -> float | None:
        """Count an accepted share; the new difficulty if it is time to change."""
        self._shares += 1
        self._work += difficulty
        if self._shares >= self.config.retarget_shares:
            return self.retarget(now)
        return self.check(now)

    def check(self, now: float) -> float | None:
        """Periodic check: retarget when ``retarget_time`` has passed since the last one."""
        if now - self._since >= self.config.retarget_time:
            return self.retarget(now)
        return None

    def retarget(self, now: float) -> float | None:
        if not self.config.enabled:
            self._since, self._shares, self._work = now, 0, 0.0
            return None
        elapsed = max(now - self._since, 1e-3)
        current = self.difficulty
        if self._shares == 0:
            optimal = current / 4
        else:
            optimal = self._work / elapsed * self.config.target_interval
        if current / 2 < optimal < current * 2:
            self._since, self._shares, self._work = now, 0, 0.0
            return None
        optimal = min(optimal, current * self.config.max_step)
        return self._set(self._clamp(optimal), now)
