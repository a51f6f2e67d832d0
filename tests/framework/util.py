"""Small helpers of the functional test framework: polled waits with a deadline, hex helpers,
a free loopback port.

Standard library only. Never ``asyncio.sleep`` to "let things settle" in a test: wait for the
condition you need with ``wait_until`` (or a ping round trip, ``P2PInterface.sync_with_ping``).
"""

# The Bitcoin Core-style API takes explicit deadlines (``timeout=``) on purpose.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import inspect
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

Predicate = Callable[[], bool | Awaitable[bool]]

POLL_INTERVAL = 0.02


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago (nothing does once the
    probing socket closes: connecting to it is refused until someone binds it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WaitTimeout(AssertionError):
    """A polled condition was still false at its deadline (fails the test)."""


async def wait_until(
    predicate: Predicate,
    timeout: float = 10.0,
    *,
    interval: float = POLL_INTERVAL,
    message: str | Callable[[], str] = "",
) -> None:
    """Poll ``predicate`` (a function returning a bool, or an awaitable of one) until it is
    true; raise ``WaitTimeout`` past ``timeout`` seconds. ``message`` (or a function building
    it, called only on failure) says what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        result: Any = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            name = getattr(predicate, "__name__", "condition")
            raise WaitTimeout(f"{text or name} not met within {timeout}s")
        await asyncio.sleep(interval)


def hex_hash(value: bytes) -> str:
    """A block hash or txid as shown everywhere else (reversed byte order hex)."""
    return value[::-1].hex()


def from_hex_hash(text: str) -> bytes:
    return bytes.fromhex(text)[::-1]
