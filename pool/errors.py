"""Typed errors of the pool: Stratum refusals with their standard codes, node faults, config.

Imports nothing but the standard library. A :class:`StratumError` is a refusal of one request
(answered to the miner as ``"error": [code, message, null]``, the connection stays open); a
:class:`NodeError` is an operational fault talking to the node (logged and retried);
:class:`BlockRejected` is the node refusing a block we submitted (a rule error, not retried).
"""

from __future__ import annotations


class PoolError(Exception):
    """Base of every pool error."""


class ConfigError(PoolError, ValueError):
    """A flag or variable with a value the pool cannot use (one-line message)."""


# --- Stratum ----------------------------------------------------------------------------------
class StratumError(PoolError):
    """A refused Stratum request. ``code`` is the standard Stratum v1 error code."""

    code = 20

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_json(self) -> list[object]:
        return [self.code, self.message, None]


class OtherError(StratumError):
    """20: anything else: malformed parameters, bad ntime, bad extranonce2, bad version bits,
    unknown method."""

    code = 20


class JobNotFound(StratumError):
    """21: job unknown or stale (its tip was replaced, or it aged out)."""

    code = 21


class DuplicateShare(StratumError):
    """22: this exact header was already submitted."""

    code = 22


class LowDifficultyShare(StratumError):
    """23: the header hash is above the share target."""

    code = 23


class UnauthorizedWorker(StratumError):
    """24: the worker was not authorized on this connection (or its address is invalid)."""

    code = 24


class NotSubscribed(StratumError):
    """25: ``mining.subscribe`` has not been called on this connection."""

    code = 25


class ProtocolViolation(PoolError):
    """A connection broke the protocol or a limit badly enough to be closed (oversized line,
    flood, not JSON, idle too long)."""


# --- the node ---------------------------------------------------------------------------------
class NodeError(PoolError):
    """Talking to the node failed (unreachable, timeout, 5xx, 429, a malformed answer)."""


class BlockRejected(PoolError):
    """The node refused a block we submitted (4xx): ``code`` is its error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
