"""A peer's bounded send queue: frames waiting for the writer, bounded in count and bytes.

asyncio and the standard library only. Producers wait for room (the caller puts a deadline
on the wait); once closed, waiting producers and the consumer get ``PeerDisconnected``.
"""

from __future__ import annotations

import asyncio
from collections import deque

from p2p.errors import PeerDisconnected


class SendQueue:
    def __init__(self, max_bytes: int, max_frames: int) -> None:
        if max_bytes <= 0 or max_frames <= 0:
            raise ValueError("queue bounds must be positive")
        self._max_bytes = max_bytes
        self._max_frames = max_frames
        self._frames: deque[tuple[bytes, str]] = deque()
        self._bytes = 0
        self._closed = False
        self._room = asyncio.Event()
        self._room.set()
        self._filled = asyncio.Event()

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._frames)

    def _has_room(self, size: int) -> bool:
        # An empty queue always takes one frame, however large, so no frame can stall forever.
        if not self._frames:
            return True
        return len(self._frames) < self._max_frames and self._bytes + size <= self._max_bytes

    def try_put(self, frame: bytes, command: str) -> bool:
        """Queue the frame if there is room now (False otherwise)."""
        if self._closed:
            raise PeerDisconnected("connection closing")
        if not self._has_room(len(frame)):
            return False
        self._frames.append((frame, command))
        self._bytes += len(frame)
        self._filled.set()
        return True

    async def put(self, frame: bytes, command: str) -> None:
        while not self._closed and not self._has_room(len(frame)):
            self._room.clear()
            await self._room.wait()
        if self._closed:
            raise PeerDisconnected("connection closing")
        self._frames.append((frame, command))
        self._bytes += len(frame)
        self._filled.set()

    async def get(self) -> tuple[bytes, str]:
        while not self._frames:
            if self._closed:
                raise PeerDisconnected("connection closing")
            self._filled.clear()
            await self._filled.wait()
        frame, command = self._frames.popleft()
        self._bytes -= len(frame)
        self._room.set()
        return frame, command

    def close(self) -> None:
        """Wake every waiter; later puts fail; gets fail once the queue is empty."""
        self._closed = True
        self._room.set()
        self._filled.set()
