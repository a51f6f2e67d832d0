"""Typed wallet errors. Imports nothing.

Every error the wallet raises on purpose is a :class:`WalletError` whose message is one line
that a user can act on; the CLI prints it as ``error: <message>`` and exits non-zero. The
``code`` attribute is a stable snake_case name for ``--json`` output and for tests.

No message ever contains a secret (a mnemonic, a passphrase, a password, a private key), not
even a part of one.
"""

from __future__ import annotations


class WalletError(Exception):
    """Base of every wallet error."""

    code = "wallet_error"


# --- user input -------------------------------------------------------------------------------
class InvalidMnemonic(WalletError):
    """A recovery phrase that is not a valid BIP 39 English mnemonic."""

    code = "invalid_mnemonic"


class InvalidAmount(WalletError):
    """An amount that is not a plain decimal number of coins within 0..MAX_MONEY."""

    code = "invalid_amount"


class InvalidDerivationPath(WalletError):
    """A key path that is not hardened-only SLIP-0010 (``m/44'/8888'/0'/0'/0'``)."""

    code = "invalid_derivation_path"


# --- the wallet files -------------------------------------------------------------------------
class KeystoreError(WalletError):
    """Base of the errors about the wallet's files."""

    code = "keystore_error"


class WrongPassword(KeystoreError):
    """The password does not decrypt the keystore. The message is exactly ``wrong password``."""

    code = "wrong_password"

    def __init__(self, message: str = "wrong password") -> None:
        super().__init__(message)


class KeystoreCorrupt(KeystoreError):
    """A wallet file that is truncated, altered, of an unknown version or not a wallet file."""

    code = "keystore_corrupt"


class WalletExists(KeystoreError):
    """Creating a wallet where one already exists (it is never overwritten)."""

    code = "wallet_exists"


class WalletNotFound(KeystoreError):
    """Opening a wallet that does not exist."""

    code = "wallet_not_found"


class WalletLocked(KeystoreError):
    """Another process holds the wallet's lock (a send or a sync is running)."""

    code = "wallet_locked"


# --- spending ---------------------------------------------------------------------------------
class InsufficientFunds(WalletError):
    """The spendable coins cannot pay the amount plus the fee.

    ``available`` is the value of the coins that could be used (not reserved by a pending send,
    worth more than the fee to spend them); ``needed`` is the amount plus the fee of a
    transaction spending all of them. Both in base units.
    """

    code = "insufficient_funds"

    def __init__(self, available: int, needed: int, message: str | None = None) -> None:
        self.available = available
        self.needed = needed
        if message is None:
            message = f"insufficient funds: {available} units available, {needed} needed"
        super().__init__(message)


class FeeBumpError(WalletError):
    """A replacement transaction cannot be built (nothing to bump, rate not higher, ...)."""

    code = "fee_bump_error"


class InvalidFeeRate(WalletError):
    """A fee rate that is not a positive whole number of base units per byte."""

    code = "invalid_fee_rate"


class InvalidFeeBumpTarget(FeeBumpError):
    """``bump TXID`` names no unconfirmed send of ours (unknown, confirmed or conflicted)."""

    code = "fee_bump_target"


class InvalidAddress(WalletError):
    """An address that is malformed, has a bad checksum or belongs to another network.

    ``reason`` is the consensus error's code: ``malformed_address``, ``bad_address_checksum``
    or ``wrong_network_address``.
    """

    code = "invalid_address"

    def __init__(self, message: str, reason: str = "invalid_address") -> None:
        self.reason = reason
        super().__init__(message)


class InvalidInput(WalletError):
    """A command-line value (a URL, a file, a count) the wallet cannot use."""

    code = "invalid_input"


# --- the node ---------------------------------------------------------------------------------
class NodeUnreachable(WalletError):
    """The node's REST API could not be reached, or did not answer in time."""

    code = "node_unreachable"


class NodeError(WalletError):
    """The node answered with an error (``status`` and the API's ``code``) or with something
    that is not the API's shape (``code`` ``bad_response``)."""

    code = "node_error"

    def __init__(self, message: str, *, status: int = 0, api_code: str = "bad_response") -> None:
        self.status = status
        self.api_code = api_code
        super().__init__(message)


class NetworkMismatch(WalletError):
    """The wallet, the node and the command line disagree about the network."""

    code = "network_mismatch"


class BroadcastRejected(WalletError):
    """The node refused a transaction we built (the API's ``code`` is ``api_code``)."""

    code = "broadcast_rejected"

    def __init__(self, message: str, *, status: int, api_code: str) -> None:
        self.status = status
        self.api_code = api_code
        super().__init__(message)
