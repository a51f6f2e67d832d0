"""Signed messages: round trips, every way a signature can fail to verify, malformed input,
and a fixed vector that pins the format (docs/protocol.md, "Signed messages")."""

from __future__ import annotations

import base64

import pytest

from consensus.params import MAIN, REGTEST
from wallet.engine import keychain_for
from wallet.errors import InvalidAddress, InvalidInput
from wallet.messages import MAX_MESSAGE_BYTES, sign_message, verify_message

MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"
KEYS = keychain_for(MNEMONIC)
KEY = KEYS.key(0, 0)
ADDRESS = KEY.address(REGTEST.hrp)
VECTOR_MESSAGE = "Seedchain message test vector"
VECTOR_SIGNATURE = (
    "Uv26Z/5nYVgCi5BnqPc3Sw9Gve8XauOlv317R8GwNi6wU/uRKs3CCIjBpcn8CtiRuX2jLmoh4i2+Wf7KVi73IAHr"
    "lNCZ6nDuTbXQ6LvibWjTVmrzwf50+qcbe+d0hN4C"
)


def test_the_fixed_vector() -> None:
    assert ADDRESS == "rsc1qdnmeslntr5vzpnf8h7yhpmfshhm0hgrsa3jmuw"
    assert sign_message(KEY, VECTOR_MESSAGE, REGTEST) == VECTOR_SIGNATURE  # Ed25519: stable
    assert verify_message(ADDRESS, VECTOR_SIGNATURE, VECTOR_MESSAGE, REGTEST)


@pytest.mark.parametrize("message", ["", "hello", "café ☕\nline two", "x" * MAX_MESSAGE_BYTES])
def test_round_trip(message: str) -> None:
    signature = sign_message(KEY, message, REGTEST)
    assert verify_message(ADDRESS, signature, message, REGTEST)
    assert verify_message(f"  {ADDRESS.upper()} ", signature, message, REGTEST)


def test_what_does_not_verify() -> None:
    signature = sign_message(KEY, "pay Bob 1 coin", REGTEST)
    raw = base64.b64decode(signature)
    other = KEYS.key(0, 1)
    assert not verify_message(ADDRESS, signature, "pay Bob 2 coins", REGTEST)  # other text
    assert not verify_message(other.address(REGTEST.hrp), signature, "pay Bob 1 coin", REGTEST)
    swapped = base64.b64encode(other.public_key + raw[32:]).decode()  # another key's pubkey
    assert not verify_message(other.address(REGTEST.hrp), swapped, "pay Bob 1 coin", REGTEST)
    for i in (0, 31, 32, 95):  # one bit anywhere: key or signature
        flipped = bytearray(raw)
        flipped[i] ^= 1
        text = base64.b64encode(bytes(flipped)).decode()
        assert not verify_message(ADDRESS, text, "pay Bob 1 coin", REGTEST)
    main_signature = sign_message(KEY, "pay Bob 1 coin", MAIN)  # another network's chain id
    assert main_signature != signature
    assert not verify_message(ADDRESS, main_signature, "pay Bob 1 coin", REGTEST)


def test_malformed_input() -> None:
    signature = sign_message(KEY, "m", REGTEST)
    with pytest.raises(InvalidAddress, match="regtest"):
        verify_message(KEY.address(MAIN.hrp), signature, "m", REGTEST)
    with pytest.raises(InvalidInput, match="base64"):
        verify_message(ADDRESS, "not base64!", "m", REGTEST)
    with pytest.raises(InvalidInput, match="96 bytes"):
        verify_message(ADDRESS, base64.b64encode(bytes(95)).decode(), "m", REGTEST)
    with pytest.raises(InvalidInput, match="at most"):
        sign_message(KEY, "x" * (MAX_MESSAGE_BYTES + 1), REGTEST)
