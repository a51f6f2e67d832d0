"""Who may ask what: the per-client token bucket (429) and the admin token (401/403).

Standard library only (and aiohttp's request type). The admin token is 32 random bytes as hex,
written to ``<datadir>/api.cookie`` with mode 0600 by ``write_cookie``: the file is created
exclusively with that mode and ``fchmod``-ed before a byte is written, so the secret is never
readable by anyone else, not even for an instant under a permissive umask. The token is never
logged.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import math
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from node.api.errors import ApiError

COOKIE_FILE = "api.cookie"
TOKEN_BYTES = 32
MAX_COOKIE_BYTES = 1024  # what the tools read of a cookie file


# --- rate limit -----------------------------------------------------------------------------
class RateLimiter:
    """A token bucket per client key: ``rate`` tokens a second up to ``burst``; each request
    takes one. ``check`` answers 0 (go ahead) or the seconds until a token is due."""

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: dict[str, list[float]] = {}  # key -> [tokens, last refill time]

    def check(self, key: str) -> float:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_clients:
                self._evict(now)
            self._buckets[key] = [self.burst - 1, now]
            return 0.0
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1:
            bucket[0] = tokens - 1
            return 0.0
        bucket[0] = tokens
        return (1 - tokens) / self.rate

    def _evict(self, now: float) -> None:
        """Drop the buckets that have refilled (they would start full anyway); if that is not
        enough, the least recently used half."""
        full = [
            k
            for k, (tokens, last) in self._buckets.items()
            if tokens + (now - last) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self.max_clients:
            by_age = sorted(self._buckets.items(), key=lambda item: item[1][1])
            for key, _ in by_age[: len(by_age) // 2 + 1]:
                del self._buckets[key]


class ClientGate:
    """Applies a ``RateLimiter`` to requests by remote IP; loopback may be exempt."""

    def __init__(self, limiter: RateLimiter | None, limit_loopback: bool) -> None:
        self.limiter = limiter
        self.limit_loopback = limit_loopback
        self._loopback: dict[str, bool] = {}

    def _is_loopback(self, host: str) -> bool:
        known = self._loopback.get(host)
        if known is None:
            try:
                known = ipaddress.ip_address(host).is_loopback
            except ValueError:
                known = False
            if len(self._loopback) > 10_000:
                self._loopback.clear()
            self._loopback[host] = known
        return known

    def check(self, request: web.Request) -> None:
        """Raise the 429 ``rate_limited`` error (with ``Retry-After``) when over the limit."""
        limiter = self.limiter
        if limiter is None:
            return
        host = request.remote or "unknown"
        if not self.limit_loopback and self._is_loopback(host):
            return
        wait = limiter.check(host)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise ApiError(
                429,
                "rate_limited",
                f"too many requests: retry in {seconds} s",
                {"Retry-After": str(seconds)},
            )


# --- admin token ----------------------------------------------------------------------------
def new_token() -> str:
    return secrets.token_hex(TOKEN_BYTES)


def write_cookie(datadir: Path, token: str) -> Path:
    """Write ``token`` to ``<datadir>/api.cookie`` readable by the owner only (see the module
    docstring). A stale cookie from an earlier run is replaced."""
    path = datadir / COOKIE_FILE
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        data = token.encode()
        while data:
            written = os.write(fd, data)
            data = data[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def read_cookie(datadir: Path) -> str:
    """The admin token in ``<datadir>/api.cookie`` (for the node's own tools: ``seedchain
    stop``, the demo, benchmarks); the node judges it. ``OSError`` when there is none."""
    with open(datadir / COOKIE_FILE, "rb") as file:
        return file.read(MAX_COOKIE_BYTES).decode("utf-8", errors="replace").strip()


def remove_cookie(path: Path, token: str) -> None:
    """Delete the cookie if it still holds our token (another run may have replaced it)."""
    try:
        current = path.read_text().strip()
    except OSError:
        return
    if hmac.compare_digest(current.encode(), token.encode()):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def check_admin(request: web.Request, token: str) -> None:
    """401 without a bearer token, 403 with a wrong one (compared in constant time)."""
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise ApiError(
            401,
            "unauthorized",
            "this endpoint needs 'Authorization: Bearer <token>' (the token is in api.cookie)",
            {"WWW-Authenticate": 'Bearer realm="seedchain"'},
        )
    if not hmac.compare_digest(presented.strip().encode(), token.encode()):
        raise ApiError(403, "forbidden", "the bearer token is not this node's admin token")
