"""Backing a wallet up: Core's ``backupwallet``, Electrum's "save backup".

May import the standard library and ``wallet`` modules (never ``node``, ``p2p``, ``pool``,
``mining`` or ``seedchain``). The caller holds the wallet's lock, so the copy is of one
moment. The keystore is copied as it is, encrypted (restoring needs the password, not only
the file), after checking that it reads as a keystore; ``wallet.json`` (indexes, pending
sends, labels, frozen coins) goes with it. Both are written with mode 0600 into a directory
of mode 0700, each atomically, and an existing backup is never overwritten: restore by
copying the directory to ``<datadir>/wallets/<name>``. A watch-only wallet's ``watch.json``
(public keys) takes the keystore's place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wallet.errors import KeystoreCorrupt, WalletExists
from wallet.fileio import atomic_create, read_file
from wallet.keystore import MAX_FILE_SIZE as MAX_KEYSTORE_SIZE
from wallet.keystore import read_keystore_info
from wallet.metadata import MAX_METADATA_SIZE, WalletPaths
from wallet.watch import MAX_WATCH_FILE, read_watch_file


@dataclass(frozen=True)
class BackupResult:
    directory: Path
    files: tuple[str, ...]


def backup_wallet(paths: WalletPaths, destination: Path) -> BackupResult:
    """Copy the wallet at ``paths`` into the directory ``destination`` (created if needed)."""
    if paths.keystore.exists() or not paths.watch.exists():
        read_keystore_info(paths.keystore)  # a damaged keystore is not worth a backup
        source, limit = paths.keystore, MAX_KEYSTORE_SIZE
    else:  # a watch-only wallet: its public keys
        read_watch_file(paths.watch)
        source, limit = paths.watch, MAX_WATCH_FILE
    keystore = read_file(source, limit)
    if len(keystore) > limit:
        raise KeystoreCorrupt(f"{source} is too large to be a wallet file")
    try:
        metadata: bytes | None = read_file(paths.metadata, MAX_METADATA_SIZE)
    except FileNotFoundError:
        metadata = None
    destination.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = WalletPaths(destination)
    files = [(target.directory / source.name, keystore)]
    if metadata is not None:
        files.append((target.metadata, metadata))
    for path, _ in files:
        if path.exists():
            raise WalletExists(f"{path} already exists: choose another directory")
    for path, data in files:
        atomic_create(path, data)
    return BackupResult(destination, tuple(path.name for path, _ in files))
