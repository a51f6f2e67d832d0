"""What a miner is asked to mine (:class:`Work`), what it returns (:class:`Solution`), and the
thread-safe dispenser that hands disjoint pieces of the search space to worker threads.

The search space of one piece of work is a sequence of *rolls*. Roll 0 is ``Work.header76`` as
given; roll ``k >= 1`` is the header prefix ``Work.roll_header(k)`` returns (a later ``time``,
or a new extranonce and so a new merkle root). Each roll has the nonce range
``[nonce_start, nonce_start + nonce_count)``; the dispenser walks the rolls in order and cuts
each range into chunks, so no two workers ever hash the same (header, nonce).

May import ``consensus`` and the standard library only.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from consensus.nonce_search import HEADER76_SIZE, NONCE_SPACE

__all__ = ["TIME_OFFSET", "Chunk", "Solution", "Work", "WorkDispenser"]

TIME_OFFSET = 68  # header bytes 68..72: time, u32 little-endian
_u32 = struct.Struct("<I")

HeaderRoller = Callable[[int], bytes]


@dataclass(frozen=True, slots=True)
class Work:
    """A header prefix to mine and, optionally, how to make fresh ones.

    ``roll_header(k)`` (for ``1 <= k <= max_roll``) must return a 76-byte prefix; it is called
    from a worker thread, at most once per roll, so it must be thread-safe (a pure function of
    ``k`` is). With ``max_roll == 0`` only ``header76``'s nonce range is searched.
    """

    header76: bytes
    roll_header: HeaderRoller | None = field(default=None, compare=False)
    max_roll: int = 0
    nonce_start: int = 0
    nonce_count: int = NONCE_SPACE

    def __post_init__(self) -> None:
        if len(self.header76) != HEADER76_SIZE:
            raise ValueError(f"header76 must be {HEADER76_SIZE} bytes, got {len(self.header76)}")
        if self.max_roll < 0:
            raise ValueError(f"max_roll must be >= 0, got {self.max_roll}")
        if self.max_roll > 0 and self.roll_header is None:
            raise ValueError("max_roll > 0 needs a roll_header callback")
        if self.nonce_start < 0 or self.nonce_count <= 0:
            raise ValueError("the nonce range must be non-empty and start at >= 0")
        if self.nonce_start + self.nonce_count > NONCE_SPACE:
            raise ValueError("the nonce range must lie within [0, 2**32)")

    @classmethod
    def rolling_time(
        cls,
        header76: bytes,
        max_seconds: int,
        *,
        nonce_start: int = 0,
        nonce_count: int = NONCE_SPACE,
    ) -> Work:
        """Work whose roll ``k`` is ``header76`` with ``time + k`` (up to ``max_seconds``).

        The caller bounds ``max_seconds`` by the network's future-time limit.
        """
        if len(header76) != HEADER76_SIZE:
            raise ValueError(f"header76 must be {HEADER76_SIZE} bytes, got {len(header76)}")
        base_time = _u32.unpack_from(header76, TIME_OFFSET)[0]
        if base_time + max_seconds >= NONCE_SPACE:
            raise ValueError("rolled time would overflow u32")
        prefix, suffix = header76[:TIME_OFFSET], header76[TIME_OFFSET + 4 :]

        def roll(k: int) -> bytes:
            return prefix + _u32.pack(base_time + k) + suffix

        return cls(header76, roll, max_seconds, nonce_start, nonce_count)

    def header_for_roll(self, roll: int) -> bytes:
        """The 76-byte prefix of roll ``roll`` (0 is ``header76``)."""
        if roll == 0:
            return self.header76
        if self.roll_header is None or not 1 <= roll <= self.max_roll:
            raise ValueError(f"roll {roll} is outside 0..{self.max_roll}")
        header76 = self.roll_header(roll)
        if len(header76) != HEADER76_SIZE:
            raise ValueError(f"roll_header({roll}) returned {len(header76)} bytes, not 76")
        return header76


@dataclass(frozen=True, slots=True)
class Solution:
    """A header that met the target: the full 80 bytes and the roll its prefix came from."""

    header: bytes
    roll: int

    @property
    def header76(self) -> bytes:
        return self.header[:HEADER76_SIZE]

    @property
    def nonce(self) -> int:
        value: int = _u32.unpack_from(self.header, HEADER76_SIZE)[0]
        return value

    @staticmethod
    def of(header76: bytes, nonce: int, roll: int) -> Solution:
        return Solution(header76 + _u32.pack(nonce), roll)


@dataclass(frozen=True, slots=True)
class Chunk:
    """One piece of the search: nonces ``[start, start + count)`` of roll ``roll``."""

    roll: int
    header76: bytes
    start: int
    count: int


class WorkDispenser:
    """Hands out disjoint chunks of a :class:`Work`'s search space to any number of threads."""

    def __init__(self, work: Work) -> None:
        self._work = work
        self._lock = threading.Lock()
        self._roll = 0
        self._header76 = work.header76
        self._next = work.nonce_start
        self._end = work.nonce_start + work.nonce_count

    def take(self, size: int) -> Chunk | None:
        """The next chunk of at most ``size`` nonces, or None once every roll is handed out.

        May call ``work.roll_header`` (under the lock) and raise what it raises.
        """
        with self._lock:
            if self._next >= self._end:
                if self._roll >= self._work.max_roll:
                    return None
                header76 = self._work.header_for_roll(self._roll + 1)
                self._roll += 1
                self._header76 = header76
                self._next = self._work.nonce_start
            start = self._next
            count = min(size, self._end - start)
            self._next = start + count
            return Chunk(self._roll, self._header76, start, count)
