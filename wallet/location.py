"""Where a wallet lives on disk, and reading its keystore header and ``wallet.json``.

May import the standard library, ``consensus`` and ``wallet`` modules (never ``node``, ``p2p``,
``pool``, ``mining`` or ``seedchain``). Reads files; never writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from consensus.params import ChainParams
from wallet.errors import KeystoreError, NetworkMismatch, WalletNotFound
from wallet.fileio import read_file
from wallet.keystore import KeystoreInfo, read_keystore_info
from wallet.metadata import MAX_METADATA_SIZE, WalletMetadata, WalletPaths, load_metadata
from wallet.watch import WatchOnlyWallet, read_watch_file


@dataclass(frozen=True)
class WalletLocation:
    """Where a wallet lives and which network it is for."""

    datadir: Path
    name: str
    params: ChainParams

    @property
    def paths(self) -> WalletPaths:
        return WalletPaths.of(self.datadir, self.name)

    def describe(self) -> str:
        return f"wallet {self.name!r} in {self.datadir}"


def check_exists(location: WalletLocation) -> WalletPaths:
    """The wallet's paths, or :class:`WalletNotFound` with a hint."""
    paths = location.paths
    if not paths.keystore.exists() and not paths.watch.exists():
        raise WalletNotFound(
            f"no {location.describe()} for {location.params.name}"
            " (create one with `seedchain wallet create` or `restore`)"
        )
    return paths


def is_watch_only(location: WalletLocation) -> bool:
    """Whether the wallet holds exported public keys (``wallet.watch``) instead of a keystore."""
    paths = location.paths
    return paths.watch.exists() and not paths.keystore.exists()


def check_wallet(location: WalletLocation) -> KeystoreInfo | None:
    """That the wallet exists and is for the expected network: its keystore's header, or None
    for a watch-only wallet (whose file is read and checked instead)."""
    paths = check_exists(location)
    if not is_watch_only(location):
        return keystore_info(location)
    network = read_watch_file(paths.watch).network
    if network != location.params.name:
        raise NetworkMismatch(
            f"{location.describe()} is for {network}, not {location.params.name}"
            f" (use --network {network})"
        )
    return None


def keystore_info(location: WalletLocation) -> KeystoreInfo:
    """The keystore's header, checked against the expected network
    (:class:`WatchOnlyWallet` for a wallet without one)."""
    paths = check_exists(location)
    if is_watch_only(location):
        raise WatchOnlyWallet(
            f"{location.describe()} is watch-only: it has no keystore, no password and no"
            " private keys"
        )
    info = read_keystore_info(paths.keystore)
    if info.network != location.params.name:
        raise NetworkMismatch(
            f"{location.describe()} is for {info.network}, not {location.params.name}"
            f" (use --network {info.network})"
        )
    return info


def read_metadata(location: WalletLocation) -> tuple[WalletMetadata, bytes | None]:
    """The metadata and the file's exact bytes (None if missing: a crash right after the
    keystore was written leaves a fresh wallet, and discovery finds its addresses again)."""
    paths = location.paths
    try:
        raw: bytes | None = read_file(paths.metadata, MAX_METADATA_SIZE)
    except FileNotFoundError:
        raw = None
    except OSError as exc:
        raise KeystoreError(f"cannot read wallet file {paths.metadata}: {exc.strerror}") from None
    if raw is None:
        return WalletMetadata(location.params.name), None
    metadata = load_metadata(paths.metadata)
    if metadata.network != location.params.name:
        raise NetworkMismatch(
            f"wallet file {paths.metadata} is for {metadata.network}, not {location.params.name}"
        )
    return metadata, raw
