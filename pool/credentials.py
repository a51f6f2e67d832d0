"""What a miner's ``mining.authorize [user, password]`` says: the payout address and worker name
in ``user``, and an optional starting difficulty in ``password``.

May import consensus and ``pool`` errors and shares.

``user`` is ``ADDRESS`` or ``ADDRESS.WORKER``. ``password`` is free text, as most pools take
it; a ``d=NUMBER`` word in it (words separated by commas, semicolons or spaces, e.g. ``x,d=512``)
asks for that difficulty, which the pool treats as ``mining.suggest_difficulty``: the
connection's difficulty and vardiff's floor, within the pool's bounds. Miners that cannot send
``mining.suggest_difficulty`` (cpuminer, many ASIC firmwares) set it this way.
"""

from __future__ import annotations

import math
import re
from typing import Any

from consensus.addresses import decode_address
from consensus.errors import AddressError
from pool.errors import UnauthorizedWorker
from pool.shares import MAX_WORKER_NAME

MAX_PASSWORD = 256
_WORD_SEPARATORS = re.compile(r"[,; ]+")


def parse_user(user: Any, hrp: str) -> tuple[str, str]:
    """``ADDRESS[.WORKER]`` -> (address in lower case, worker); 24 for a bad address."""
    if not isinstance(user, str) or not user or len(user) > MAX_WORKER_NAME:
        raise UnauthorizedWorker("user must be ADDRESS or ADDRESS.WORKER")
    address, _, worker = user.partition(".")
    try:
        decode_address(address, hrp)
    except AddressError as exc:
        raise UnauthorizedWorker(f"bad payout address: {exc}") from None
    if not all(c.isalnum() or c in "-_.:@" for c in worker):
        raise UnauthorizedWorker("worker names may use letters, digits and - _ . : @")
    return address.lower(), worker or "default"


def password_difficulty(password: Any) -> float | None:
    """The difficulty a ``d=NUMBER`` word of ``password`` asks for; None when there is none,
    or it is not a positive finite number (the password is otherwise ignored: never an
    error)."""
    if not isinstance(password, str) or len(password) > MAX_PASSWORD:
        return None
    for word in _WORD_SEPARATORS.split(password.strip()):
        name, equals, value = word.partition("=")
        if equals and name.lower() == "d":
            try:
                difficulty = float(value)
            except ValueError:
                return None
            return difficulty if math.isfinite(difficulty) and difficulty > 0 else None
    return None
