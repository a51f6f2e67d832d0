"""The wallet: a client of a node's REST API. Never imports ``node`` or ``p2p``.

The core: BIP 39 phrases (:mod:`wallet.mnemonic`), SLIP-0010 Ed25519 keys on
``m/44'/8888'/account'/change'/index'`` (:mod:`wallet.keys`), the encrypted keystore
(:mod:`wallet.keystore`) and plain metadata (:mod:`wallet.metadata`), coin selection
(:mod:`wallet.coinselect`), building, signing and fee-bumping transactions
(:mod:`wallet.txbuild`), amounts (:mod:`wallet.amounts`) and typed errors
(:mod:`wallet.errors`). On top of it: the node's REST client (:mod:`wallet.client`), address
discovery (:mod:`wallet.sync`), coins, balances and history (:mod:`wallet.history`) and the
engine the ``seedchain wallet`` CLI drives (:mod:`wallet.engine`; the client modules are not
imported here, so the core loads without aiohttp). docs/wallet.md describes all of it.
"""

from wallet.amounts import format_amount, parse_amount
from wallet.coinselect import FeePolicy, Selection, SpendableCoin, select_coins
from wallet.errors import (
    FeeBumpError,
    InsufficientFunds,
    InvalidAmount,
    InvalidDerivationPath,
    InvalidFeeRate,
    InvalidMnemonic,
    KeystoreCorrupt,
    KeystoreError,
    WalletError,
    WalletExists,
    WalletLocked,
    WalletNotFound,
    WrongPassword,
)
from wallet.keys import CHANGE, RECEIVE, Keychain, KeyId, WalletKey, format_path, parse_path
from wallet.keystore import (
    DEFAULT_KDF,
    KdfParams,
    KeystoreInfo,
    WalletSecrets,
    change_password,
    create_keystore,
    open_keystore,
    read_keystore_info,
)
from wallet.metadata import PendingSend, WalletMetadata, WalletPaths, load_metadata, save_metadata
from wallet.mnemonic import generate_mnemonic, mnemonic_to_seed, validate_mnemonic
from wallet.txbuild import BuiltTransaction, build_payment
from wallet.txreplace import bump_fee, check_replacement

__all__ = [
    "CHANGE",
    "DEFAULT_KDF",
    "RECEIVE",
    "BuiltTransaction",
    "FeeBumpError",
    "FeePolicy",
    "InsufficientFunds",
    "InvalidAmount",
    "InvalidDerivationPath",
    "InvalidFeeRate",
    "InvalidMnemonic",
    "KdfParams",
    "KeyId",
    "Keychain",
    "KeystoreCorrupt",
    "KeystoreError",
    "KeystoreInfo",
    "PendingSend",
    "Selection",
    "SpendableCoin",
    "WalletError",
    "WalletExists",
    "WalletKey",
    "WalletLocked",
    "WalletMetadata",
    "WalletNotFound",
    "WalletPaths",
    "WalletSecrets",
    "WrongPassword",
    "build_payment",
    "bump_fee",
    "change_password",
    "check_replacement",
    "create_keystore",
    "format_amount",
    "format_path",
    "generate_mnemonic",
    "load_metadata",
    "mnemonic_to_seed",
    "open_keystore",
    "parse_amount",
    "parse_path",
    "read_keystore_info",
    "save_metadata",
    "select_coins",
    "validate_mnemonic",
]
