"""Tests for consensus.addresses: bech32m (BIP 350 vectors), key hashes and addresses."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consensus.addresses import (
    address_to_lock,
    bech32m_decode,
    bech32m_encode,
    convertbits,
    decode_address,
    encode_address,
    key_hash,
    lock_for_key_hash,
    lock_to_address,
)
from consensus.errors import (
    AddressError,
    BadAddressChecksum,
    MalformedAddress,
    WrongNetworkAddress,
)

HRPS = ("sc", "tsc", "rsc")

# BIP 350: strings with a valid bech32m checksum.
BIP350_VALID = [
    "A1LQFN3A",
    "a1lqfn3a",
    "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
    "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
    "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
    "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
    "?1v759aa",
]

# BIP 350: invalid bech32m strings and the reason, with the error each maps to.
BIP350_INVALID = [
    ("\x20" + "1xj0phk", MalformedAddress),  # HRP character out of range
    ("\x7f" + "1g6xzxy", MalformedAddress),  # HRP character out of range
    ("\x80" + "1vctc34", MalformedAddress),  # HRP character out of range
    (
        "an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4",
        MalformedAddress,  # overall max length exceeded
    ),
    ("qyrz8wqd2c9m", MalformedAddress),  # no separator character
    ("1qyrz8wqd2c9m", MalformedAddress),  # empty HRP
    ("y1b0jsk6g", MalformedAddress),  # invalid data character
    ("lt1igcx5c0", MalformedAddress),  # invalid data character
    ("in1muywd", MalformedAddress),  # too short checksum
    ("mm1crxm3i", MalformedAddress),  # invalid character in checksum
    ("au1s5cgom", MalformedAddress),  # invalid character in checksum
    ("M1VUXWEZ", BadAddressChecksum),  # checksum calculated with uppercase form of HRP
    ("16plkw9", MalformedAddress),  # empty HRP
    ("1p2gdwpf", MalformedAddress),  # empty HRP
]

# BIP 173: valid bech32 strings, which are not valid bech32m.
BIP173_VALID = [
    "A12UEL5L",
    "a12uel5l",
    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
    "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    "?1ezyfcl",
]


@pytest.mark.parametrize("text", BIP350_VALID)
def test_bip350_valid_checksums(text: str) -> None:
    hrp, data = bech32m_decode(text)
    assert bech32m_encode(hrp, data) == text.lower()
    # Changing one data character breaks it.
    position = text.rfind("1") + 1
    corrupted = text[:position] + chr(ord(text[position]) ^ 1) + text[position + 1 :]
    with pytest.raises(AddressError):
        bech32m_decode(corrupted)


@pytest.mark.parametrize(("text", "error"), BIP350_INVALID)
def test_bip350_invalid_strings(text: str, error: type[AddressError]) -> None:
    with pytest.raises(error):
        bech32m_decode(text)


@pytest.mark.parametrize("text", BIP173_VALID)
def test_bech32_checksum_is_not_bech32m(text: str) -> None:
    with pytest.raises(BadAddressChecksum, match="bech32 checksum"):
        bech32m_decode(text)


def test_bip350_segwit_addresses_checksums() -> None:
    # Valid BIP 350 addresses carry bech32m checksums ...
    for text in (
        "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
        "BC1SW50QGDZ25J",
        "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs",
        "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",  # (v0 with bech32m)
    ):
        bech32m_decode(text)
    # ... and BIP 350's "Bech32 instead of Bech32m" invalid ones do not.
    for text in (
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
        "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",
        "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
    ):
        with pytest.raises(BadAddressChecksum):
            bech32m_decode(text)


def test_bech32m_encode_rejects_bad_arguments() -> None:
    for hrp in ("", "SC", "s c", "\x80"):
        with pytest.raises(ValueError):
            bech32m_encode(hrp, [0])
    with pytest.raises(ValueError):
        bech32m_encode("sc", [32])
    with pytest.raises(ValueError):
        bech32m_encode("sc", [0] * 82)  # 2 + 1 + 82 + 6 = 91 characters


def test_convertbits_strict_padding() -> None:
    assert convertbits(b"\xff", 8, 5, True) == [31, 28]
    assert convertbits([31, 28], 5, 8, False) == [0xFF]
    assert convertbits([0, 0], 5, 8, False) == [0]  # 2 spare zero bits are fine
    with pytest.raises(ValueError, match="non-zero padding"):
        convertbits([31, 29], 5, 8, False)
    with pytest.raises(ValueError, match="excess padding"):
        convertbits([0] * 9, 5, 8, False)  # 45 bits: 5 spare bits make a whole extra group
    with pytest.raises(ValueError):
        convertbits([32], 5, 8, False)
    with pytest.raises(ValueError):
        convertbits([-1], 5, 8, True)


# --- key hashes and addresses ------------------------------------------------------------------
def test_key_hash_is_blake2b_160() -> None:
    pubkey = bytes(range(32))
    assert key_hash(pubkey) == hashlib.blake2b(pubkey, digest_size=20).digest()
    assert len(key_hash(pubkey)) == 20
    for bad in (bytes(31), bytes(33), b""):
        with pytest.raises(ValueError):
            key_hash(bad)


def test_address_layout() -> None:
    kh = bytes(range(20))
    address = encode_address(kh, "sc")
    assert address.startswith("sc1q")  # hrp, separator, version 0 ('q')
    assert len(address) == 2 + 1 + 1 + 32 + 6
    hrp, data = bech32m_decode(address)
    assert hrp == "sc"
    assert data[0] == 0
    assert bytes(convertbits(data[1:], 5, 8, False)) == kh
    assert encode_address(bytes(20), "sc") == bech32m_encode("sc", [0] * 33)


@given(st.binary(min_size=20, max_size=20), st.sampled_from(HRPS))
def test_address_round_trip(kh: bytes, hrp: str) -> None:
    address = encode_address(kh, hrp)
    assert address == address.lower()
    assert decode_address(address, hrp) == kh
    assert decode_address(address.upper(), hrp) == kh
    lock = lock_for_key_hash(kh)
    assert lock == b"\x00" + kh
    assert address_to_lock(address, hrp) == lock
    assert lock_to_address(lock, hrp) == address


@pytest.mark.parametrize("wanted", HRPS)
@pytest.mark.parametrize("actual", HRPS)
def test_wrong_network(actual: str, wanted: str) -> None:
    address = encode_address(bytes(range(20)), actual)
    if actual == wanted:
        assert decode_address(address, wanted) == bytes(range(20))
        return
    with pytest.raises(WrongNetworkAddress) as caught:
        decode_address(address, wanted)
    message = str(caught.value)
    assert repr(actual) in message
    assert repr(wanted) in message


def test_unknown_prefix_is_malformed() -> None:
    address = bech32m_encode("bc", [0, *convertbits(bytes(20), 8, 5, True)])
    with pytest.raises(MalformedAddress):
        decode_address(address, "sc")


def _bech32_encode(hrp: str, data: list[int]) -> str:
    """A BIP 173 (constant 1) encoder, to build addresses with the old checksum."""
    charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + data + [0] * 6
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = ((checksum & 0x1FFFFFF) << 5) ^ value
        for i in range(5):
            if (top >> i) & 1:
                checksum ^= generator[i]
    checksum ^= 1
    tail = [(checksum >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(charset[v] for v in data + tail)


def test_bech32_instead_of_bech32m_address() -> None:
    address = _bech32_encode("sc", [0, *convertbits(bytes(range(20)), 8, 5, True)])
    with pytest.raises(BadAddressChecksum, match="bech32m"):
        decode_address(address, "sc")


def test_malformed_addresses() -> None:
    kh = bytes(range(20))
    good = encode_address(kh, "sc")
    letter = next(i for i in range(4, len(good)) if good[i].isalpha())
    cases = [
        good[:letter] + good[letter].upper() + good[letter + 1 :],  # mixed case
        good.replace("1", "", 1),  # no separator
        good[:-7] + "b" + good[-6:],  # 'b' is not in the charset
        "sc1" + "q" * 88,  # over 90 characters
        bech32m_encode("sc", []),  # no version
        bech32m_encode("sc", [1, *convertbits(kh, 8, 5, True)]),  # version 1
        bech32m_encode("sc", [0, *convertbits(bytes(32), 8, 5, True)]),  # 32-byte program
        bech32m_encode("sc", [0, *convertbits(bytes(19), 8, 5, True)]),  # 19-byte program
        bech32m_encode("sc", [0, *convertbits(kh, 8, 5, True), 0]),  # excess padding
        bech32m_encode("sc", [0, *([0] * 30), 1]),  # non-zero padding (155 bits)
    ]
    for address in cases:
        with pytest.raises(MalformedAddress):
            decode_address(address, "sc")
    corrupted = good[:-1] + ("q" if good[-1] != "q" else "p")
    with pytest.raises(BadAddressChecksum):
        decode_address(corrupted, "sc")


def test_lock_to_address_needs_a_version_0_key_hash_lock() -> None:
    kh = bytes(range(20))
    for lock in (b"\x01" + kh, b"\x00" + kh[:19], b"\x00" + kh + b"\x00", b""):
        with pytest.raises(MalformedAddress):
            lock_to_address(lock, "sc")
    for bad in (bytes(19), bytes(21)):
        with pytest.raises(ValueError):
            lock_for_key_hash(bad)
        with pytest.raises(ValueError):
            encode_address(bad, "sc")
