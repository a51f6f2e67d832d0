"""Amounts: decimal coins as users type and read them <-> integer base units.

Standard library and ``consensus.transaction`` (for ``COIN`` and ``MAX_MONEY``) only. Floats
never touch an amount: text is checked against a strict grammar, then converted with
``Decimal``.

Parsing accepts plain decimal numbers only: digits, optionally one ``.`` and more digits
(``12``, ``12.5``, ``.5``, ``0.00000001``). No sign, no exponent, no ``NaN``/``inf``, no
underscores or thousands separators, surrounding whitespace ignored. At most 8 significant
decimal places: ``0.000000001`` is refused, while ``1.500000000`` (a trailing zero beyond the
8th place, the same value) is accepted, as Bitcoin Core's ``ParseFixedPoint`` does.

Formatting is exact and canonical: the shortest decimal that denotes the value, trailing
zeros and a trailing point trimmed (``1250000000`` -> ``"12.5"``, ``100000000`` -> ``"1"``,
``1`` -> ``"0.00000001"``, ``0`` -> ``"0"``). ``fixed=True`` gives all 8 decimals
(``"12.50000000"``) for aligned table columns. Both forms parse back to the same value.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext

from consensus.transaction import COIN, MAX_MONEY
from wallet.errors import InvalidAmount

DECIMALS = 8
_AMOUNT_RE = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_MAX_TEXT = 64  # no valid amount is anywhere near this long; refuse before any arithmetic


def parse_amount(text: str, *, allow_zero: bool = False) -> int:
    """Parse decimal coins (``"12.5"``) into base units (``1_250_000_000``).

    Raises :class:`InvalidAmount` for anything but a plain non-negative decimal, for more than
    8 decimal places, for a value over ``MAX_MONEY`` and, unless ``allow_zero``, for zero.
    """
    stripped = text.strip()
    if not stripped:
        raise InvalidAmount("amount is empty")
    if len(stripped) > _MAX_TEXT or not _AMOUNT_RE.fullmatch(stripped):
        raise InvalidAmount(
            f"invalid amount {_quote(stripped)}: expected a plain decimal number of coins"
            " such as 12.5"
        )
    with localcontext() as context:
        context.prec = _MAX_TEXT + DECIMALS + 2  # enough digits that the product is exact
        units = Decimal(stripped) * COIN
    if units != units.to_integral_value():
        raise InvalidAmount(
            f"invalid amount {_quote(stripped)}: more than {DECIMALS} decimal places"
        )
    value = int(units)
    if value > MAX_MONEY:
        raise InvalidAmount(
            f"invalid amount {_quote(stripped)}: over the {format_amount(MAX_MONEY)} coin limit"
        )
    if value == 0 and not allow_zero:
        raise InvalidAmount("amount must be greater than zero")
    return value


def format_amount(units: int, *, fixed: bool = False) -> str:
    """Base units as exact decimal coins: ``"12.5"`` (or ``"12.50000000"`` with ``fixed``).

    Negative values (net amounts in a history) get a leading ``-``.
    """
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), COIN)
    digits = f"{fraction:0{DECIMALS}d}"
    if not fixed:
        digits = digits.rstrip("0")
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def _quote(text: str) -> str:
    """Echo user input in an error message, cut short so the message stays one line."""
    shown = text if len(text) <= 32 else text[:29] + "..."
    return repr(shown)
