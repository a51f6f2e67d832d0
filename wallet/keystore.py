"""The encrypted keystore: the wallet's only secret file.

May import the standard library, ``cryptography``, ``wallet.errors``, ``wallet.fileio`` and
``wallet.mnemonic``.

The file is a UTF-8 JSON document (docs/wallet.md has an example)::

    {"format": "seedchain-keystore", "version": 1, "network": "regtest",
     "kdf": {"name": "scrypt", "n": 131072, "r": 8, "p": 1, "salt": <32 bytes hex>},
     "cipher": {"name": "aes-256-gcm", "nonce": <12 bytes hex>},
     "password_check": <16 bytes hex>, "ciphertext": <hex>, "checksum": <sha256 hex>}

- ``scrypt(NFKD(password), salt, n, r, p)`` yields 48 bytes: the first 32 are the AES-256-GCM
  key, the last 16 are ``password_check``, which tells a wrong password apart from a damaged
  file (it is no extra oracle: the GCM tag already confirms a guess).
- The plaintext is canonical JSON ``{"mnemonic": ..., "passphrase": ...}``, padded with
  spaces to a multiple of 256 bytes. The associated
  data is the canonical JSON of the header (``format``, ``version``, ``network``, ``kdf``,
  ``cipher``), so a header altered to fit, say, another network fails to decrypt.
- ``checksum`` is SHA-256 over the canonical JSON of every other field: accidental damage (a
  flipped byte, a truncated copy) reads as :class:`KeystoreCorrupt`, not as a wrong password.

Errors: :class:`WalletNotFound`, :class:`KeystoreCorrupt` (truncated, altered, unknown version,
unsupported parameters), :class:`WrongPassword` (message exactly ``wrong password``),
:class:`WalletExists`. Reading never writes; a failed write leaves the old file as it was
(see :mod:`wallet.fileio`). Secrets never appear in ``repr``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from wallet.errors import (
    KeystoreCorrupt,
    KeystoreError,
    WalletExists,
    WalletNotFound,
    WrongPassword,
)
from wallet.fileio import atomic_create, atomic_write, ensure_private_directory, read_file
from wallet.mnemonic import mnemonic_to_seed, normalize_passphrase, validate_mnemonic

FORMAT = "seedchain-keystore"
VERSION = 1
SALT_SIZE = 32
NONCE_SIZE = 12
KEY_SIZE = 32
CHECK_SIZE = 16
MAX_FILE_SIZE = 64 * 1024
PAD_TO = 256
MAX_SCRYPT_MEMORY = 1 << 30  # 128 * r * n * p bytes; refuse parameters that would need more


@dataclass(frozen=True)
class KdfParams:
    """scrypt cost parameters: ``n`` (a power of two), ``r``, ``p``."""

    n: int = 1 << 17
    r: int = 8
    p: int = 1

    def check(self) -> None:
        """Raise ``ValueError`` unless these are sane parameters this module will run."""
        if self.n < 2 or self.n & (self.n - 1):
            raise ValueError(f"scrypt n must be a power of two >= 2, got {self.n}")
        if not 1 <= self.r <= 64 or not 1 <= self.p <= 16:
            raise ValueError(f"scrypt r={self.r}, p={self.p} out of range (r 1..64, p 1..16)")
        if 128 * self.r * self.n * self.p > MAX_SCRYPT_MEMORY:
            raise ValueError("scrypt parameters need more than 1 GiB")


DEFAULT_KDF = KdfParams()
"""OWASP's scrypt baseline (n=2**17, r=8, p=1): 128 MiB and about 0.3 s per unlock."""


@dataclass(frozen=True, repr=False)
class WalletSecrets:
    """What the keystore protects: the BIP 39 phrase and the optional BIP 39 passphrase."""

    mnemonic: str
    passphrase: str = ""

    def seed(self) -> bytes:
        """The 64-byte BIP 39 seed (validates the phrase)."""
        return mnemonic_to_seed(self.mnemonic, self.passphrase)

    def __repr__(self) -> str:
        return "WalletSecrets(mnemonic=<redacted>, passphrase=<redacted>)"


@dataclass(frozen=True)
class KeystoreInfo:
    """The keystore's plain header: readable without the password."""

    path: Path
    version: int
    network: str
    kdf: KdfParams


def create_keystore(
    path: Path, secrets: WalletSecrets, password: str, network: str, *, kdf: KdfParams = DEFAULT_KDF
) -> None:
    """Write a new keystore at ``path`` (mode 0600, atomically; the directory is created 0700).

    Raises :class:`WalletExists` if ``path`` exists: a wallet is never overwritten.
    """
    kdf.check()
    if path.exists():
        raise WalletExists(f"a wallet already exists at {path}")
    document = _encrypt(secrets, password, network, kdf)
    ensure_private_directory(path.parent)
    try:
        atomic_create(path, document)
    except FileExistsError:
        raise WalletExists(f"a wallet already exists at {path}") from None


def open_keystore(path: Path, password: str) -> tuple[KeystoreInfo, WalletSecrets]:
    """Read and decrypt the keystore at ``path``. Changes nothing on disk."""
    info, document = _read(path)
    derived = _derive(password, bytes.fromhex(document["kdf"]["salt"]), info.kdf)
    if not hmac.compare_digest(derived[KEY_SIZE:], bytes.fromhex(document["password_check"])):
        raise WrongPassword()
    try:
        plaintext = AESGCM(derived[:KEY_SIZE]).decrypt(
            bytes.fromhex(document["cipher"]["nonce"]),
            bytes.fromhex(document["ciphertext"]),
            _canonical(_header(document)),
        )
    except InvalidTag:
        raise KeystoreCorrupt(
            f"wallet file {path} is corrupt: it does not decrypt with the right password"
        ) from None
    return info, _decode_secrets(plaintext, path)


def read_keystore_info(path: Path) -> KeystoreInfo:
    """The header (version, network, KDF) of the keystore at ``path``; no password needed."""
    return _read(path)[0]


def change_password(
    path: Path, old_password: str, new_password: str, *, kdf: KdfParams = DEFAULT_KDF
) -> None:
    """Re-encrypt the keystore under a new password (fresh salt and nonce), atomically."""
    kdf.check()
    info, secrets = open_keystore(path, old_password)
    atomic_write(path, _encrypt(secrets, new_password, info.network, kdf))


# --- encoding -----------------------------------------------------------------------------------
def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _header(document: dict[str, Any]) -> dict[str, Any]:
    return {key: document[key] for key in ("format", "version", "network", "kdf", "cipher")}


def _checksum(document: dict[str, Any]) -> str:
    body = {key: value for key, value in document.items() if key != "checksum"}
    return hashlib.sha256(_canonical(body)).hexdigest()


def _derive(password: str, salt: bytes, kdf: KdfParams) -> bytes:
    normalized = unicodedata.normalize("NFKD", password).encode("utf-8")
    return Scrypt(salt=salt, length=KEY_SIZE + CHECK_SIZE, n=kdf.n, r=kdf.r, p=kdf.p).derive(
        normalized
    )


def _encrypt(secrets: WalletSecrets, password: str, network: str, kdf: KdfParams) -> bytes:
    mnemonic = validate_mnemonic(secrets.mnemonic)
    salt = os.urandom(SALT_SIZE)
    nonce = os.urandom(NONCE_SIZE)
    derived = _derive(password, salt, kdf)
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "network": network,
        "kdf": {"name": "scrypt", "n": kdf.n, "r": kdf.r, "p": kdf.p, "salt": salt.hex()},
        "cipher": {"name": "aes-256-gcm", "nonce": nonce.hex()},
    }
    plaintext = _canonical(
        {"mnemonic": mnemonic, "passphrase": normalize_passphrase(secrets.passphrase)}
    )
    # Pad with JSON whitespace to a multiple of PAD_TO, so the file's size does not tell the
    # length of the words (or of the passphrase, up to the block).
    plaintext += b" " * (-len(plaintext) % PAD_TO)
    ciphertext = AESGCM(derived[:KEY_SIZE]).encrypt(nonce, plaintext, _canonical(document))
    document["password_check"] = derived[KEY_SIZE:].hex()
    document["ciphertext"] = ciphertext.hex()
    document["checksum"] = _checksum(document)
    return json.dumps(document, indent=2, sort_keys=True).encode() + b"\n"


def _read(path: Path) -> tuple[KeystoreInfo, dict[str, Any]]:
    """Load and check everything but the password; return the header and the document."""
    try:
        data = read_file(path, MAX_FILE_SIZE)
    except FileNotFoundError:
        raise WalletNotFound(f"no wallet at {path}") from None
    except OSError as exc:
        raise KeystoreError(f"cannot read wallet file {path}: {exc.strerror}") from None
    if not data:
        raise KeystoreCorrupt(f"wallet file {path} is empty")
    if len(data) > MAX_FILE_SIZE:
        raise KeystoreCorrupt(f"wallet file {path} is too large to be a keystore")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise KeystoreCorrupt(
            f"wallet file {path} is truncated or damaged (not valid JSON)"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise KeystoreCorrupt(f"{path} is not a Seedchain keystore")
    version = document.get("version")
    if type(version) is not int or version != VERSION:
        raise KeystoreCorrupt(
            f"wallet file {path} has unknown keystore version {version!r}"
            f" (this program reads version {VERSION})"
        )
    _check_fields(document, path)
    if not hmac.compare_digest(_checksum(document), document["checksum"]):
        raise KeystoreCorrupt(f"wallet file {path} is corrupt: checksum mismatch")
    kdf_fields = document["kdf"]
    if kdf_fields["name"] != "scrypt" or document["cipher"]["name"] != "aes-256-gcm":
        raise KeystoreCorrupt(f"wallet file {path} uses an unsupported KDF or cipher")
    kdf = KdfParams(kdf_fields["n"], kdf_fields["r"], kdf_fields["p"])
    try:
        kdf.check()
    except ValueError as exc:
        raise KeystoreCorrupt(f"wallet file {path} has unsupported KDF parameters: {exc}") from None
    return KeystoreInfo(path, version, document["network"], kdf), document


_HEX_SIZES = {"salt": SALT_SIZE, "nonce": NONCE_SIZE, "password_check": CHECK_SIZE}


def _check_fields(document: dict[str, Any], path: Path) -> None:
    """Every field present with the right type and size, or :class:`KeystoreCorrupt`."""

    def bad(name: str) -> KeystoreCorrupt:
        return KeystoreCorrupt(f"wallet file {path} is corrupt: field {name!r} missing or invalid")

    expected = {"format", "version", "network", "kdf", "cipher"}
    expected |= {"password_check", "ciphertext", "checksum"}
    if set(document) != expected:
        raise bad(", ".join(sorted(set(document) ^ expected)))
    kdf, cipher = document["kdf"], document["cipher"]
    if not isinstance(kdf, dict) or set(kdf) != {"name", "n", "r", "p", "salt"}:
        raise bad("kdf")
    if not isinstance(cipher, dict) or set(cipher) != {"name", "nonce"}:
        raise bad("cipher")
    if any(type(kdf[key]) is not int for key in ("n", "r", "p")):
        raise bad("kdf")
    strings = {
        "network": document["network"],
        "kdf.name": kdf["name"],
        "cipher.name": cipher["name"],
        "salt": kdf["salt"],
        "nonce": cipher["nonce"],
        "password_check": document["password_check"],
        "ciphertext": document["ciphertext"],
        "checksum": document["checksum"],
    }
    for name, value in strings.items():
        if not isinstance(value, str):
            raise bad(name)
    for name in ("salt", "nonce", "password_check", "ciphertext", "checksum"):
        if not _is_hex(strings[name]):
            raise bad(name)
    for name, size in _HEX_SIZES.items():
        if len(strings[name]) != 2 * size:
            raise bad(name)
    if len(strings["checksum"]) != 64 or len(strings["ciphertext"]) < 2 * 16:
        raise bad("checksum" if len(strings["checksum"]) != 64 else "ciphertext")


def _is_hex(text: str) -> bool:
    return len(text) % 2 == 0 and all(c in "0123456789abcdef" for c in text)


def _decode_secrets(plaintext: bytes, path: Path) -> WalletSecrets:
    try:
        fields = json.loads(plaintext.decode("utf-8"))
        mnemonic, passphrase = fields["mnemonic"], fields["passphrase"]
        if not isinstance(mnemonic, str) or not isinstance(passphrase, str):
            raise TypeError
        validate_mnemonic(mnemonic)
    except Exception:  # anything wrong inside authentic ciphertext: a writer bug, not the user
        raise KeystoreCorrupt(f"wallet file {path} holds unreadable secrets") from None
    return WalletSecrets(mnemonic, passphrase)
