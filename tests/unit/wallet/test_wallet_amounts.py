"""Parsing and formatting amounts: decimal coins <-> integer base units."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consensus.transaction import COIN, MAX_MONEY
from wallet.amounts import format_amount, parse_amount
from wallet.errors import InvalidAmount


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("12.5", 1_250_000_000),
        ("0.00000001", 1),
        ("1", COIN),
        ("1.", COIN),
        (".5", 50_000_000),
        ("0.1", 10_000_000),
        ("  7.25\n", 725_000_000),
        ("21000000", MAX_MONEY),
        ("20999999.99999999", MAX_MONEY - 1),
        ("1.500000000", 150_000_000),  # trailing zeros past the 8th place: same value
        ("000012.50", 1_250_000_000),
        ("0.12345678", 12_345_678),
    ],
)
def test_parse_valid(text: str, units: int) -> None:
    assert parse_amount(text) == units


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0.000000001", "more than 8 decimal places"),
        ("1.123456789", "more than 8 decimal places"),
        ("1.0000000000000000000000000000001", "more than 8 decimal places"),
        ("-1", "plain decimal"),
        ("+1", "plain decimal"),
        ("1e3", "plain decimal"),
        ("1E-8", "plain decimal"),
        ("NaN", "plain decimal"),
        ("nan", "plain decimal"),
        ("inf", "plain decimal"),
        ("Infinity", "plain decimal"),
        ("1_000", "plain decimal"),
        ("1,5", "plain decimal"),
        ("1.2.3", "plain decimal"),
        (".", "plain decimal"),
        ("0x10", "plain decimal"),
        ("١٢", "plain decimal"),  # Arabic-Indic digits: Decimal would take them
        ("", "empty"),
        ("   ", "empty"),
        ("21000000.00000001", "over the 21000000 coin limit"),
        ("99999999999999999999", "over the 21000000 coin limit"),
        ("0", "greater than zero"),
        ("0.00000000", "greater than zero"),
        ("9" * 100, "plain decimal"),
    ],
)
def test_parse_invalid(text: str, message: str) -> None:
    with pytest.raises(InvalidAmount, match=message) as caught:
        parse_amount(text)
    assert "\n" not in str(caught.value)


def test_zero_when_allowed() -> None:
    assert parse_amount("0", allow_zero=True) == 0


@pytest.mark.parametrize(
    ("units", "text", "fixed"),
    [
        (1_250_000_000, "12.5", "12.50000000"),
        (1, "0.00000001", "0.00000001"),
        (COIN, "1", "1.00000000"),
        (0, "0", "0.00000000"),
        (MAX_MONEY, "21000000", "21000000.00000000"),
        (10_000_000, "0.1", "0.10000000"),
        (-1_250_000_000, "-12.5", "-12.50000000"),
        (123_456_789, "1.23456789", "1.23456789"),
    ],
)
def test_format(units: int, text: str, fixed: str) -> None:
    assert format_amount(units) == text
    assert format_amount(units, fixed=True) == fixed


@given(st.integers(min_value=1, max_value=MAX_MONEY))
def test_round_trip(units: int) -> None:
    assert parse_amount(format_amount(units)) == units
    assert parse_amount(format_amount(units, fixed=True)) == units
