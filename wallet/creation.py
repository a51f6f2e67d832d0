"""Creating a wallet, and restoring one from its recovery phrase (with address discovery).

May import the standard library, ``consensus`` and ``wallet`` modules (never ``node``, ``p2p``,
``pool``, ``mining`` or ``seedchain``); reaches a node only through :class:`wallet.sync.NodeApi`.
Never overwrites an existing wallet; a restore writes nothing until discovery has succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass

from wallet.errors import KeystoreError, WalletExists
from wallet.history import WalletView
from wallet.keys import Keychain
from wallet.keystore import DEFAULT_KDF, KdfParams, WalletSecrets, create_keystore
from wallet.location import WalletLocation
from wallet.metadata import WalletMetadata, WalletPaths, checked_gap_limit, save_metadata
from wallet.mnemonic import generate_mnemonic, validate_mnemonic
from wallet.session import WalletSession
from wallet.sync import GAP_LIMIT, NodeApi


@dataclass(frozen=True)
class CreatedWallet:
    paths: WalletPaths
    mnemonic: str
    metadata: WalletMetadata


def create_wallet(
    location: WalletLocation,
    password: str,
    *,
    mnemonic: str | None = None,
    passphrase: str = "",
    metadata: WalletMetadata | None = None,
    kdf: KdfParams = DEFAULT_KDF,
) -> CreatedWallet:
    """Write a new wallet (keystore, then ``wallet.json`` and the lock file). Never overwrites
    an existing one. With ``mnemonic`` it is a restore; otherwise a fresh 24-word phrase."""
    if not password:
        raise KeystoreError("the password must not be empty")
    phrase = generate_mnemonic() if mnemonic is None else validate_mnemonic(mnemonic)
    paths = location.paths
    meta = metadata or WalletMetadata(location.params.name)
    create_keystore(
        paths.keystore, WalletSecrets(phrase, passphrase), password, location.params.name, kdf=kdf
    )
    save_metadata(paths.metadata, meta)
    paths.lock.touch(mode=0o600, exist_ok=True)
    return CreatedWallet(paths, phrase, meta)


async def restore_wallet(
    location: WalletLocation,
    password: str,
    mnemonic: str,
    node: NodeApi | None,
    *,
    passphrase: str = "",
    gap_limit: int = GAP_LIMIT,
    kdf: KdfParams = DEFAULT_KDF,
) -> tuple[CreatedWallet, WalletView | None]:
    """Restore a wallet from its phrase: discover its used addresses first (gap limit on both
    chains; no node: no discovery), then write it with the next indexes past them. Nothing is
    written if the phrase is invalid, the wallet exists or the node cannot be reached."""
    phrase = validate_mnemonic(mnemonic)
    if not password:
        raise KeystoreError("the password must not be empty")
    if location.paths.keystore.exists() or location.paths.watch.exists():
        raise WalletExists(f"a wallet already exists in {location.paths.directory}")
    metadata = WalletMetadata(location.params.name, gap_limit=checked_gap_limit(gap_limit))
    view = None
    if node is not None:
        session = WalletSession(
            location, keychain_for(phrase, passphrase), metadata, node, gap_limit=gap_limit
        )
        view = await session.sync(rebroadcast=False)
        metadata = session.reconciled()
    created = create_wallet(
        location, password, mnemonic=phrase, passphrase=passphrase, metadata=metadata, kdf=kdf
    )
    return created, view


def keychain_for(mnemonic: str, passphrase: str = "", account: int = 0) -> Keychain:
    return Keychain.from_seed(WalletSecrets(mnemonic, passphrase).seed(), account)
