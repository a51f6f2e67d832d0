"""Watch-only wallets: the public keys of a wallet, without its seed (Electrum's "watching-only
wallet"; Bitcoin Core's wallets with private keys disabled).

May import the standard library, ``consensus`` and ``wallet`` modules (never ``node``, ``p2p``,
``pool``, ``mining`` or ``seedchain``).

SLIP-0010 Ed25519 derivation is hardened only, so no extended public key can derive addresses:
the wallet with the keys exports a fixed number of public keys per chain
(:func:`export_public_keys`, ``seedchain wallet export-watch``), and the watch-only wallet made
from that file (:func:`create_watch_wallet`, ``import-watch``) knows exactly those addresses. It
shows balances and history, hands out receiving addresses and builds unsigned transactions
(:mod:`wallet.offline`) that the wallet with the keys signs; it never holds a private key.
Past the exported keys it says so (:class:`WatchOnlyLimit`): export more.

The file, ``watch.json`` in the wallet's directory (mode 0600: addresses are private, though not
secret)::

    {"format": "seedchain-watch", "version": 1, "network": "main", "account": 0,
     "next_receive": 3, "next_change": 1,
     "receive": ["<32-byte public key, hex>", ...], "change": [...]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consensus.addresses import key_hash, lock_for_key_hash
from wallet.errors import KeystoreCorrupt, WalletError, WalletExists
from wallet.fileio import atomic_create, load_document, read_file
from wallet.keys import CHANGE, RECEIVE, KeyId, KeySource, WalletKey, wallet_path
from wallet.metadata import (
    DEFAULT_GAP_LIMIT,
    MAX_GAP_LIMIT,
    WalletMetadata,
    WalletPaths,
    save_metadata,
)

WATCH_FORMAT = "seedchain-watch"
WATCH_VERSION = 1
MAX_WATCH_KEYS = 100_000  # per chain
MAX_WATCH_FILE = 16 * 1024 * 1024
DEFAULT_EXPORT = 1_000  # keys per chain unless asked otherwise
CHAIN_NAMES = {RECEIVE: "receive", CHANGE: "change"}


class WatchOnlyLimit(WalletError):
    """An address beyond the public keys a watch-only wallet was given."""


class WatchOnlyWallet(WalletError):
    """A command that needs the private keys, run on a watch-only wallet."""


NEEDS_KEYS = (
    "this is a watch-only wallet: it has no private keys. Make the transaction with"
    " `send ... --unsigned FILE`, sign FILE with `seedchain wallet sign` on the wallet that has"
    " the keys, then send it with `seedchain wallet broadcast`"
)


@dataclass(repr=False)
class WatchKeychain:
    """The :class:`wallet.keys.KeySource` of a watch-only wallet: exported public keys, no
    private ones (``WalletKey.private_key`` is empty)."""

    account: int
    public_keys: dict[int, tuple[bytes, ...]]  # chain -> public keys by index
    _cache: dict[KeyId, WalletKey] = field(default_factory=dict)

    def available(self, change: int) -> int:
        return len(self.public_keys.get(change, ()))

    def key(self, change: int, index: int) -> WalletKey:
        key_id = KeyId(change, index)
        cached = self._cache.get(key_id)
        if cached is not None:
            return cached
        if not 0 <= index < self.available(change):
            raise WatchOnlyLimit(
                f"this watch-only wallet has {self.available(change)}"
                f" {CHAIN_NAMES.get(change, str(change))} addresses, not index {index}: export"
                " more with `seedchain wallet export-watch --count N` and import them again"
            )
        pub = self.public_keys[change][index]
        kh = key_hash(pub)
        path = wallet_path(self.account, change, index)
        derived = WalletKey(key_id, path, b"", pub, kh, lock_for_key_hash(kh))
        self._cache[key_id] = derived
        return derived

    def by_id(self, key_id: KeyId) -> WalletKey:
        return self.key(key_id.change, key_id.index)

    def __repr__(self) -> str:
        counts = {CHAIN_NAMES[c]: len(keys) for c, keys in self.public_keys.items()}
        return f"WatchKeychain(account={self.account}, keys={counts})"


def export_public_keys(
    keys: KeySource, network: str, metadata: WalletMetadata, count: int = DEFAULT_EXPORT
) -> bytes:
    """The watch file of a wallet: ``count`` public keys per chain, and at least its handed-out
    keys plus its gap limit (which the file carries, so the watch-only wallet scans as far)."""
    if not 1 <= count <= MAX_WATCH_KEYS:
        raise WalletError(f"--count must be between 1 and {MAX_WATCH_KEYS}")
    gap = metadata.gap_limit
    counts = {
        RECEIVE: max(count, metadata.next_receive + gap),
        CHANGE: max(count, metadata.next_change + gap),
    }
    if max(counts.values()) > MAX_WATCH_KEYS:
        raise WalletError(
            f"this wallet's addresses in use and its gap limit of {gap} need more than"
            f" {MAX_WATCH_KEYS} keys a chain"
        )
    document: dict[str, Any] = {
        "format": WATCH_FORMAT,
        "version": WATCH_VERSION,
        "network": network,
        "account": metadata.account,
        "next_receive": metadata.next_receive,
        "next_change": metadata.next_change,
    }
    if gap != DEFAULT_GAP_LIMIT:
        document["gap_limit"] = gap
    for change, name in CHAIN_NAMES.items():
        document[name] = [keys.key(change, i).public_key.hex() for i in range(counts[change])]
    return (json.dumps(document, indent=1) + "\n").encode()


@dataclass(frozen=True)
class WatchFile:
    network: str
    keychain: WatchKeychain
    next_receive: int
    next_change: int
    gap_limit: int = DEFAULT_GAP_LIMIT


def parse_watch_file(raw: bytes, source: str) -> WatchFile:
    """A watch file's contents, checked; :class:`KeystoreCorrupt` naming ``source`` if not."""

    def bad(why: str) -> KeystoreCorrupt:
        return KeystoreCorrupt(f"{source} is not a Seedchain watch-only file: {why}")

    document = load_document(raw, WATCH_FORMAT, WATCH_VERSION, bad)
    numbers = {}
    for name in ("account", "next_receive", "next_change"):
        value = document.get(name)
        if type(value) is not int or not 0 <= value < 2**31:
            raise bad(f"{name!r} is not an index")
        numbers[name] = value
    network = document.get("network")
    if not isinstance(network, str):
        raise bad("no network")
    public_keys = {}
    for change, name in CHAIN_NAMES.items():
        public_keys[change] = _public_keys(document.get(name), name, bad)
    gap = document.get("gap_limit", DEFAULT_GAP_LIMIT)
    if type(gap) is not int or not 1 <= gap <= MAX_GAP_LIMIT:
        raise bad(f"'gap_limit' is not from 1 to {MAX_GAP_LIMIT}")
    keychain = WatchKeychain(numbers["account"], public_keys)
    return WatchFile(network, keychain, numbers["next_receive"], numbers["next_change"], gap)


def _public_keys(items: Any, name: str, bad: Any) -> tuple[bytes, ...]:
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_WATCH_KEYS:
        raise bad(f"{name!r} is not a list of 1 to {MAX_WATCH_KEYS} public keys")
    keys = []
    for item in items:
        try:
            key = bytes.fromhex(item) if isinstance(item, str) else b""
        except ValueError:
            key = b""
        if len(key) != 32:
            raise bad(f"{name!r} holds {str(item)[:70]!r}, not a 32-byte public key in hex")
        keys.append(key)
    return tuple(keys)


def read_watch_file(path: Path) -> WatchFile:
    try:
        raw = read_file(path, MAX_WATCH_FILE)
    except OSError as exc:
        raise KeystoreCorrupt(f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_WATCH_FILE:
        raise KeystoreCorrupt(f"{path} is larger than {MAX_WATCH_FILE} bytes")
    return parse_watch_file(raw, str(path))


def create_watch_wallet(paths: WalletPaths, network: str, raw: bytes, source: str) -> WatchFile:
    """Make a watch-only wallet at ``paths`` from a watch file's bytes (never overwrites)."""
    watch = parse_watch_file(raw, source)
    if watch.network != network:
        raise WalletError(f"{source} is for {watch.network}, not {network}")
    if paths.keystore.exists() or paths.watch.exists():
        raise WalletExists(f"a wallet already exists in {paths.directory}")
    paths.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_create(paths.watch, raw)
    metadata = WalletMetadata(
        network,
        account=watch.keychain.account,
        next_receive=watch.next_receive,
        next_change=watch.next_change,
        gap_limit=watch.gap_limit,
    )
    save_metadata(paths.metadata, metadata)
    paths.lock.touch(mode=0o600, exist_ok=True)
    return watch


def write_export(path: Path, data: bytes) -> None:
    """Write an exported file; never over an existing one (:func:`atomic_create`)."""
    try:
        atomic_create(path, data)
    except FileExistsError:
        raise WalletExists(f"{path} already exists: choose another file name") from None
