"""The wallet engine: create, restore, open, sync, receive, send and fee-bump.

May import the standard library, ``consensus`` and ``wallet`` modules; reaches a node only
through :class:`wallet.sync.NodeApi`. The CLI (``seedchain/cmd_wallet.py`` and its
``seedchain/wallet_*`` modules) parses arguments, reads passwords and prints; everything else
happens here.

This module is the engine's public face: it re-exports the names callers use, from
:mod:`wallet.parsing` (addresses, fee rates), :mod:`wallet.location` (a wallet's files),
:mod:`wallet.creation` (create, restore), :mod:`wallet.session` (open, receive, sync) and
:mod:`wallet.sending` (send, fee-bump).

How a wallet's state, its sends and their classification work is described in
:mod:`wallet.session`.
"""

from wallet.creation import CreatedWallet, create_wallet, keychain_for, restore_wallet
from wallet.location import (
    WalletLocation,
    check_exists,
    check_wallet,
    is_watch_only,
    keystore_info,
    read_metadata,
)
from wallet.parsing import (
    FEE_TARGET,
    MAX_FEE_RATE,
    parse_address,
    parse_fee_rate,
    rate_from_estimates,
)
from wallet.results import BumpResult, SendResult
from wallet.session import TRANSIENT_REJECTIONS, WATCH_DEPTH, WalletSession

__all__ = [
    "FEE_TARGET",
    "MAX_FEE_RATE",
    "TRANSIENT_REJECTIONS",
    "WATCH_DEPTH",
    "BumpResult",
    "CreatedWallet",
    "SendResult",
    "WalletLocation",
    "WalletSession",
    "check_exists",
    "check_wallet",
    "create_wallet",
    "is_watch_only",
    "keychain_for",
    "keystore_info",
    "parse_address",
    "parse_fee_rate",
    "rate_from_estimates",
    "read_metadata",
    "restore_wallet",
]
