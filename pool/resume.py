"""Stratum session resumption, as ckpool does it: a miner that reconnects and passes its old
session id to ``mining.subscribe`` (cpuminer does) gets its extranonce1 back, with its
difficulty and the difficulties of the jobs it was sent. Its work on the current job goes on,
and the shares it finds for those jobs still count.

Standard library only; the clock is injected. A closed session that had subscribed is kept for
``RESUME_SECONDS`` (at most ``MAX_RESUMABLE``, the oldest dropped first). Its id is its
extranonce1 in hex, which ``mining.subscribe`` answers as the subscription id. An id that is
unknown, expired or malformed gets a fresh extranonce1, as if none had been sent. An id is
taken once: while a connection uses it, nobody else can resume it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

RESUME_SECONDS = 600.0
MAX_RESUMABLE = 10_000


@dataclass(frozen=True, slots=True)
class SavedSession:
    difficulty: float  # vardiff's current value
    floor: float  # vardiff's floor (a miner's mining.suggest_difficulty)
    job_difficulty: tuple[tuple[str, float], ...]  # job id -> difficulty it was sent at


class ResumableSessions:
    def __init__(
        self,
        seconds: float = RESUME_SECONDS,
        capacity: int = MAX_RESUMABLE,
        *,
        extranonce1_size: int = 4,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.seconds = seconds
        self.capacity = capacity
        self.extranonce1_size = extranonce1_size
        self.clock = clock
        self._kept: OrderedDict[bytes, tuple[float, SavedSession]] = OrderedDict()

    def keep(self, extranonce1: bytes, saved: SavedSession) -> None:
        """Remember a session that just closed."""
        self._kept[extranonce1] = (self.clock() + self.seconds, saved)
        self._kept.move_to_end(extranonce1)
        while len(self._kept) > self.capacity:
            self._kept.popitem(last=False)

    def take(self, session_id: object) -> tuple[bytes, SavedSession] | None:
        """The extranonce1 and state of session ``session_id`` (and forget it), or None."""
        if not isinstance(session_id, str) or len(session_id) != 2 * self.extranonce1_size:
            return None
        try:
            extranonce1 = bytes.fromhex(session_id)
        except ValueError:
            return None
        self._sweep()
        found = self._kept.pop(extranonce1, None)
        return None if found is None else (extranonce1, found[1])

    def __contains__(self, extranonce1: object) -> bool:
        return extranonce1 in self._kept

    def __len__(self) -> int:
        self._sweep()
        return len(self._kept)

    def _sweep(self) -> None:
        now = self.clock()
        while self._kept:
            extranonce1, (expires, _) = next(iter(self._kept.items()))
            if expires > now:
                return
            del self._kept[extranonce1]
