"""SLIP-0010 Ed25519 key derivation, key paths, and the wallet's keychain.

May import the standard library, ``cryptography`` (through ``consensus.signing``),
``consensus.addresses`` and ``wallet.errors``.

SLIP-0010 for Ed25519 (https://github.com/satoshilabs/slips/blob/master/slip-0010.md):

- master: ``I = HMAC-SHA512(key=b"ed25519 seed", data=seed)``; private key ``I[:32]``, chain
  code ``I[32:]``;
- child ``i`` (hardened only, ``i >= 2**31``): ``I = HMAC-SHA512(key=chain_code,
  data=b"\\x00" || private_key || ser32(i))``; the child's private key is ``I[:32]`` and its
  chain code ``I[32:]``. Ed25519 has no public (non-hardened) derivation.

The 32-byte private key is the Ed25519 seed of RFC 8032; its public key comes from
``cryptography``. Seedchain's path is ``m/44'/8888'/account'/change'/index'`` with every level
hardened; ``change`` is 0 for receiving addresses and 1 for change.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from consensus.addresses import encode_address, key_hash, lock_for_key_hash
from consensus.signing import public_key
from wallet.errors import InvalidDerivationPath

HARDENED = 0x8000_0000
PURPOSE = 44
COIN_TYPE = 8888
RECEIVE = 0
CHANGE = 1
MASTER_HMAC_KEY = b"ed25519 seed"
MAX_PATH_DEPTH = 255  # a BIP 32 depth is one byte


@dataclass(frozen=True, repr=False)
class ExtendedKey:
    """A SLIP-0010 Ed25519 extended private key: 32-byte private key and 32-byte chain code."""

    private_key: bytes
    chain_code: bytes
    depth: int = 0

    def __post_init__(self) -> None:
        if len(self.private_key) != 32 or len(self.chain_code) != 32:
            raise ValueError("an extended key is a 32-byte key and a 32-byte chain code")

    def __repr__(self) -> str:
        return f"ExtendedKey(depth={self.depth}, private_key=<redacted>)"

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        return public_key(self.private_key)

    def child(self, index: int) -> ExtendedKey:
        """The hardened child ``index`` (which must already include ``HARDENED``)."""
        if not HARDENED <= index <= 0xFFFF_FFFF:
            raise InvalidDerivationPath(
                f"Ed25519 derivation is hardened only: index {index} is not in 2^31..2^32-1"
            )
        data = b"\x00" + self.private_key + index.to_bytes(4, "big")
        digest = hmac.new(self.chain_code, data, hashlib.sha512).digest()
        return ExtendedKey(digest[:32], digest[32:], self.depth + 1)

    def derive(self, path: Sequence[int]) -> ExtendedKey:
        """Follow ``path`` (indexes with ``HARDENED`` set) down from this key."""
        key = self
        for index in path:
            key = key.child(index)
        return key


def master_key(seed: bytes) -> ExtendedKey:
    """The SLIP-0010 Ed25519 master key of a seed (16..64 bytes; a BIP 39 seed is 64)."""
    if not 16 <= len(seed) <= 64:
        raise ValueError(f"a seed is 16 to 64 bytes, got {len(seed)}")
    digest = hmac.new(MASTER_HMAC_KEY, seed, hashlib.sha512).digest()
    return ExtendedKey(digest[:32], digest[32:])


# --- paths ------------------------------------------------------------------------------------
def parse_path(text: str) -> tuple[int, ...]:
    """``"m/44'/8888'/0'/0'/5'"`` -> indexes with ``HARDENED`` set. ``'``, ``h`` and ``H``
    mark a hardened level; every level must be hardened (:class:`InvalidDerivationPath`)."""
    parts = text.strip().split("/")
    if parts[0] != "m":
        raise InvalidDerivationPath(f"derivation path {text!r} does not start with 'm'")
    if len(parts) - 1 > MAX_PATH_DEPTH:
        raise InvalidDerivationPath(f"derivation path is deeper than {MAX_PATH_DEPTH} levels")
    indexes: list[int] = []
    for part in parts[1:]:
        if len(part) < 2 or part[-1] not in "'hH":
            raise InvalidDerivationPath(
                f"derivation path level {part!r} is not hardened (Ed25519 needs e.g. 0')"
            )
        number = part[:-1]
        if not number.isascii() or not number.isdigit() or (len(number) > 1 and number[0] == "0"):
            raise InvalidDerivationPath(f"derivation path level {part!r} is not a number")
        value = int(number)
        if value >= HARDENED:
            raise InvalidDerivationPath(f"derivation path level {part!r} is over 2^31-1")
        indexes.append(value | HARDENED)
    return tuple(indexes)


def format_path(path: Sequence[int]) -> str:
    """Indexes (``HARDENED`` set) -> ``"m/44'/8888'/0'/0'/5'"``."""
    levels = []
    for index in path:
        if not HARDENED <= index <= 0xFFFF_FFFF:
            raise InvalidDerivationPath(f"index {index} is not hardened")
        levels.append(f"{index - HARDENED}'")
    return "/".join(["m", *levels])


def wallet_path(account: int, change: int, index: int) -> tuple[int, ...]:
    """``m/44'/8888'/account'/change'/index'`` as hardened indexes."""
    for name, value in (("account", account), ("change", change), ("index", index)):
        if not 0 <= value < HARDENED:
            raise InvalidDerivationPath(f"{name} {value} is outside 0..2^31-1")
    return tuple(i | HARDENED for i in (PURPOSE, COIN_TYPE, account, change, index))


# --- the wallet's keys ------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class KeyId:
    """Where a wallet key sits under its account: ``change`` (0 receive, 1 change), ``index``."""

    change: int
    index: int

    def __str__(self) -> str:
        return f"{self.change}'/{self.index}'"


@dataclass(frozen=True, repr=False)
class WalletKey:
    """One derived key with everything needed to receive to it and spend from it."""

    key_id: KeyId
    path: tuple[int, ...]
    private_key: bytes
    public_key: bytes
    key_hash: bytes
    lock: bytes

    def address(self, hrp: str) -> str:
        return encode_address(self.key_hash, hrp)

    def __repr__(self) -> str:
        return (
            f"WalletKey(path={format_path(self.path)}, key_hash={self.key_hash.hex()},"
            " private_key=<redacted>)"
        )


class KeySource(Protocol):
    """Where a wallet's keys come from: :class:`Keychain` (derived from the seed) or
    ``wallet.watch.WatchKeychain`` (exported public keys; ``private_key`` empty)."""

    account: int

    def key(self, change: int, index: int) -> WalletKey: ...

    def by_id(self, key_id: KeyId) -> WalletKey: ...

    def available(self, change: int) -> int:
        """How many keys the chain ``change`` has (indexes ``0 .. available - 1``)."""
        ...


@dataclass(repr=False)
class Keychain:
    """The keys of one account of a seed: ``m/44'/8888'/account'/change'/index'``.

    Holds the account-level extended key (derived once) and caches derived keys. Secrets never
    show in ``repr``.
    """

    account_key: ExtendedKey
    account: int = 0
    _cache: dict[KeyId, WalletKey] = field(default_factory=dict)

    @classmethod
    def from_seed(cls, seed: bytes, account: int = 0) -> Keychain:
        account_path = wallet_path(account, 0, 0)[:3]
        return cls(master_key(seed).derive(account_path), account)

    def key(self, change: int, index: int) -> WalletKey:
        """The key at ``change'/index'`` under the account (cached)."""
        key_id = KeyId(change, index)
        cached = self._cache.get(key_id)
        if cached is not None:
            return cached
        path = wallet_path(self.account, change, index)
        extended = self.account_key.derive(path[3:])
        pub = extended.public_key
        kh = key_hash(pub)
        derived = WalletKey(key_id, path, extended.private_key, pub, kh, lock_for_key_hash(kh))
        self._cache[key_id] = derived
        return derived

    def available(self, change: int) -> int:
        return HARDENED

    def receive_key(self, index: int) -> WalletKey:
        return self.key(RECEIVE, index)

    def change_key(self, index: int) -> WalletKey:
        return self.key(CHANGE, index)

    def by_id(self, key_id: KeyId) -> WalletKey:
        return self.key(key_id.change, key_id.index)

    def __repr__(self) -> str:
        cached = len(self._cache)
        return f"Keychain(account={self.account}, keys_cached={cached}, secrets=<redacted>)"
