"""Addresses: bech32m (BIP 350) strings for version-0 locks, and the key hash they carry.

Standard library only. An address is ``bech32m(hrp, [0] + convertbits(key_hash, 8, 5))``
with ``key_hash = blake2b(pubkey, digest_size=20)``; the 0 is the lock version, and the lock
that pays it is ``b"\\x00" + key_hash``. The human-readable part names the network: ``sc``
(main), ``tsc`` (test), ``rsc`` (regtest).

Decoding follows BIP 173's rules with BIP 350's checksum constant and raises the typed
errors of :mod:`consensus.errors`: ``MalformedAddress`` for anything but a checksum or network
mismatch, ``BadAddressChecksum`` for a failed checksum (a plain bech32 checksum included),
``WrongNetworkAddress`` for a valid address of another known network. Bad arguments from our
own code (an encoder given a 19-byte hash) raise ``ValueError``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from consensus.errors import BadAddressChecksum, MalformedAddress, WrongNetworkAddress

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32M_CONST = 0x2BC830A3
BECH32_CONST = 1  # BIP 173's constant: recognised only to explain a failed checksum
MAX_LENGTH = 90
CHECKSUM_LENGTH = 6
KEY_HASH_SIZE = 20
PUBKEY_SIZE = 32
LOCK_VERSION_KEY_HASH = 0
KNOWN_HRPS: dict[str, str] = {"sc": "main", "tsc": "test", "rsc": "regtest"}

_CHARSET_INDEX = {c: i for i, c in enumerate(CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


# --- bech32m ----------------------------------------------------------------------------------
def _polymod(values: Iterable[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for i, generator in enumerate(_GENERATOR):
            if (top >> i) & 1:
                checksum ^= generator
    return checksum


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _create_checksum(hrp: str, data5: Sequence[int]) -> list[int]:
    polymod = _polymod([*_hrp_expand(hrp), *data5, 0, 0, 0, 0, 0, 0]) ^ BECH32M_CONST
    return [(polymod >> 5 * (5 - i)) & 31 for i in range(CHECKSUM_LENGTH)]


def bech32m_encode(hrp: str, data5: list[int]) -> str:
    """Encode ``hrp`` and 5-bit ``data5`` values as a lowercase bech32m string.

    Raises ``ValueError`` for an empty, non-lowercase or out-of-range (ASCII 33..126) ``hrp``,
    a value outside 0..31, or a result longer than 90 characters.
    """
    if not hrp or any(not 33 <= ord(c) <= 126 for c in hrp) or hrp != hrp.lower():
        raise ValueError(f"invalid human-readable part {hrp!r}")
    if any(not 0 <= v <= 31 for v in data5):
        raise ValueError("bech32 data values are 5-bit")
    text = hrp + "1" + "".join(CHARSET[v] for v in [*data5, *_create_checksum(hrp, data5)])
    if len(text) > MAX_LENGTH:
        raise ValueError(f"bech32m string would be {len(text)} characters, over {MAX_LENGTH}")
    return text


def bech32m_decode(text: str) -> tuple[str, list[int]]:
    """Decode a bech32m string into its (lowercase) hrp and 5-bit data, checksum removed.

    BIP 173 rules: at most 90 characters, not mixed case, hrp characters in ASCII 33..126, the
    last ``1`` separates a non-empty hrp from at least six data characters of the bech32
    charset. Raises ``MalformedAddress`` when these fail and ``BadAddressChecksum`` when the
    checksum is not bech32m's (the message says so if it is a plain bech32 checksum).
    """
    if len(text) > MAX_LENGTH:
        raise MalformedAddress(f"address is {len(text)} characters, over {MAX_LENGTH}")
    if any(not 33 <= ord(c) <= 126 for c in text):
        raise MalformedAddress("address has a character outside ASCII 33..126")
    if text.lower() != text and text.upper() != text:
        raise MalformedAddress("address mixes upper and lower case")
    text = text.lower()
    separator = text.rfind("1")
    if separator < 0:
        raise MalformedAddress("address has no '1' separator")
    if separator == 0:
        raise MalformedAddress("address has an empty human-readable part")
    if len(text) - separator - 1 < CHECKSUM_LENGTH:
        raise MalformedAddress("address data part is shorter than its checksum")
    hrp, data_part = text[:separator], text[separator + 1 :]
    if any(c not in _CHARSET_INDEX for c in data_part):
        raise MalformedAddress("address data part has a character outside the bech32 charset")
    data = [_CHARSET_INDEX[c] for c in data_part]
    residue = _polymod([*_hrp_expand(hrp), *data])
    if residue != BECH32M_CONST:
        if residue == BECH32_CONST:
            raise BadAddressChecksum("address has a bech32 checksum; bech32m (BIP 350) expected")
        raise BadAddressChecksum("address checksum does not match")
    return hrp, data[:-CHECKSUM_LENGTH]


def convertbits(data: Iterable[int], frombits: int, tobits: int, pad: bool) -> list[int]:
    """Regroup ``frombits``-bit values into ``tobits``-bit values, most significant first.

    With ``pad`` the last group is zero-padded (encoding). Without it (decoding) the input
    must end within ``frombits - 1`` spare bits that are all zero, as BIP 173 requires.
    Raises ``ValueError`` for an out-of-range value or invalid padding.
    """
    accumulator = 0
    bits = 0
    result: list[int] = []
    max_value = (1 << tobits) - 1
    max_accumulator = (1 << (frombits + tobits - 1)) - 1
    for value in data:
        if value < 0 or value >> frombits:
            raise ValueError(f"value {value} does not fit in {frombits} bits")
        accumulator = ((accumulator << frombits) | value) & max_accumulator
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            result.append((accumulator >> bits) & max_value)
    if pad:
        if bits:
            result.append((accumulator << (tobits - bits)) & max_value)
    elif bits >= frombits:
        raise ValueError("excess padding")
    elif (accumulator << (tobits - bits)) & max_value:
        raise ValueError("non-zero padding")
    return result


# --- key hashes and addresses -----------------------------------------------------------------
def key_hash(pubkey: bytes) -> bytes:
    """``blake2b(pubkey, digest_size=20)`` of a 32-byte Ed25519 public key."""
    if len(pubkey) != PUBKEY_SIZE:
        raise ValueError(f"a public key is {PUBKEY_SIZE} bytes, got {len(pubkey)}")
    return hashlib.blake2b(pubkey, digest_size=KEY_HASH_SIZE).digest()


def _check_key_hash(key_hash20: bytes) -> None:
    if len(key_hash20) != KEY_HASH_SIZE:
        raise ValueError(f"a key hash is {KEY_HASH_SIZE} bytes, got {len(key_hash20)}")


def encode_address(key_hash20: bytes, hrp: str) -> str:
    """The bech32m address of a 20-byte key hash on the network named by ``hrp``."""
    _check_key_hash(key_hash20)
    return bech32m_encode(hrp, [LOCK_VERSION_KEY_HASH, *convertbits(key_hash20, 8, 5, True)])


def decode_address(address: str, hrp: str) -> bytes:
    """The 20-byte key hash an address for the network ``hrp`` pays. Upper case is accepted.

    Raises ``MalformedAddress`` (bad characters, length, mixed case, padding, program length,
    a version other than 0, an unknown hrp), ``BadAddressChecksum`` or, for a valid address of
    another known network, ``WrongNetworkAddress``.
    """
    address_hrp, data = bech32m_decode(address)
    if not data:
        raise MalformedAddress("address has no version")
    version = data[0]
    if version != LOCK_VERSION_KEY_HASH:
        raise MalformedAddress(f"address version {version} is not {LOCK_VERSION_KEY_HASH}")
    try:
        program = bytes(convertbits(data[1:], 5, 8, False))
    except ValueError as exc:
        raise MalformedAddress(f"address has invalid padding: {exc}") from None
    if len(program) != KEY_HASH_SIZE:
        raise MalformedAddress(f"address program is {len(program)} bytes, not {KEY_HASH_SIZE}")
    if address_hrp != hrp:
        if address_hrp in KNOWN_HRPS:
            raise WrongNetworkAddress(
                f"address is for {KNOWN_HRPS[address_hrp]} ({address_hrp!r}),"
                f" expected {KNOWN_HRPS.get(hrp, 'this network')} ({hrp!r})"
            )
        raise MalformedAddress(f"unknown address prefix {address_hrp!r}, expected {hrp!r}")
    return program


def lock_for_key_hash(key_hash20: bytes) -> bytes:
    """The version-0 lock paying a key hash: ``b"\\x00" + key_hash20``."""
    _check_key_hash(key_hash20)
    return bytes([LOCK_VERSION_KEY_HASH]) + key_hash20


def address_to_lock(address: str, hrp: str) -> bytes:
    """The output lock an address stands for (errors as :func:`decode_address`)."""
    return lock_for_key_hash(decode_address(address, hrp))


def lock_to_address(lock: bytes, hrp: str) -> str:
    """The address of a version-0 key-hash lock; ``MalformedAddress`` for any other lock."""
    if len(lock) != 1 + KEY_HASH_SIZE or lock[0] != LOCK_VERSION_KEY_HASH:
        raise MalformedAddress("only a version-0 lock with a 20-byte key hash has an address")
    return encode_address(lock[1:], hrp)
