"""Payment URIs (BIP 21's form): encoding and the rules for reading one."""

from __future__ import annotations

import pytest

from consensus.params import MAIN, REGTEST
from tests.framework.factory import Key
from wallet.errors import InvalidAddress, InvalidAmount, InvalidInput
from wallet.payuri import PaymentRequest, encode_uri, is_uri, parse_uri

ADDRESS = Key.from_index(1).address()


def test_round_trip_with_escaped_text() -> None:
    uri = encode_uri(ADDRESS, 150_000_000, "Shop & Co", "Order #42 ü")
    assert uri == (
        f"seedchain:{ADDRESS}?amount=1.5&label=Shop%20%26%20Co&message=Order%20%2342%20%C3%BC"
    )
    assert parse_uri(uri, REGTEST) == PaymentRequest(ADDRESS, 150_000_000, "Shop & Co",
                                                     "Order #42 ü")  # fmt: skip
    assert encode_uri(ADDRESS) == f"seedchain:{ADDRESS}"
    assert parse_uri(f"  SEEDCHAIN:{ADDRESS.upper()}  ", REGTEST) == PaymentRequest(ADDRESS)
    assert is_uri(f"seedchain:{ADDRESS}") and not is_uri(ADDRESS)


def test_unknown_parameters_are_ignored_unless_required() -> None:
    assert parse_uri(f"seedchain:{ADDRESS}?foo=bar&amount=2", REGTEST).amount == 200_000_000
    with pytest.raises(InvalidInput, match="requires 'req-refund'"):
        parse_uri(f"seedchain:{ADDRESS}?req-refund=1", REGTEST)


@pytest.mark.parametrize(
    ("uri", "error", "match"),
    [
        (f"bitcoin:{ADDRESS}", InvalidInput, "not a seedchain: payment URI"),
        (f"seedchain:{ADDRESS}?amount=1&amount=2", InvalidInput, "'amount' twice"),
        (f"seedchain:{ADDRESS}?amount=1.123456789", InvalidAmount, "8 decimal"),
        (f"seedchain:{ADDRESS}?amount=-1", InvalidAmount, "invalid amount"),
        (f"seedchain:{ADDRESS}?label=%ff", InvalidInput, "malformed"),
        ("seedchain:xyz", InvalidAddress, "invalid address"),
        ("seedchain:" + ADDRESS + "?message=" + "x" * 2000, InvalidInput, "longer than"),
    ],
)
def test_bad_uris(uri: str, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        parse_uri(uri, REGTEST)


def test_another_networks_address() -> None:
    with pytest.raises(InvalidAddress):
        parse_uri(f"seedchain:{ADDRESS}", MAIN)
