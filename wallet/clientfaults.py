"""How the wallet's node client (``wallet.client``) words and paces failures: one-line
descriptions of connection errors and API messages, and the wait before retrying a 429 or a
503 that carries ``Retry-After``.

May import the standard library and ``aiohttp``.
"""

from __future__ import annotations

import math
import socket

import aiohttp

MAX_ERROR_MESSAGE = 300
MAX_RETRY_WAIT = 5.0


def one_line(text: str) -> str:
    """``text`` on one line, at most ``MAX_ERROR_MESSAGE`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_ERROR_MESSAGE else line[: MAX_ERROR_MESSAGE - 3] + "..."


def strip_prefix(message: str) -> str:
    """``"the node refused /v1/tx: X (code)"`` -> ``"X (code)"``."""
    head, separator, tail = message.partition(": ")
    return tail if separator and head.startswith("the node refused") else message


def retry_wait(status: int, retry_after: str | None) -> float | None:
    """Seconds to wait before retrying a 429 (or a 503 with ``Retry-After``); None: no retry."""
    if status not in (429, 503):
        return None
    if retry_after is None:
        return 1.0 if status == 429 else None
    try:
        seconds = float(retry_after)
    except ValueError:
        return 1.0 if status == 429 else None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(max(seconds, 0.05), MAX_RETRY_WAIT)


def describe(exc: BaseException) -> str:
    """A connection failure in a few words (refused, unknown host, closed, ...)."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        error = exc.os_error
        if isinstance(error, ConnectionRefusedError):
            return "connection refused (is the node running with its API there?)"
        if isinstance(error, socket.gaierror):
            return f"unknown host {exc.host!r}"
        reason = error.strerror or str(error)
        return one_line(reason) if reason else "connection failed"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    text = str(exc) or type(exc).__name__
    return one_line(text)
