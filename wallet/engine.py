"""The wallet engine: create, restore, open, sync, receive, send and fee-bump.

May import the standard library, ``consensus`` and ``wallet`` modules; reaches a node only
through :class:`wallet.sync.NodeApi`. The CLI (``seedchain/cmd_wallet.py``) parses arguments,
reads passwords and prints; everything else happens here.

This module is the engine's public face: it re-exports the names callers use, from
:mod:`wallet.parsing` (addresses, fee rates), :mod:`wallet.location` (a wallet's files),
:mod:`wallet.creation` (create, restore), :mod:`wallet.session` (open, receive, sync) and
:mod:`wallet.sending` (send, fee-bump).

**State.** A wallet's files are its keystore (the secret) and ``wallet.json`` (next indexes,
pending and recent sends; :mod:`wallet.metadata`). Coins, balances and history are never
stored: every command asks the node again (:mod:`wallet.sync`, :mod:`wallet.history`), so a
reorg while the wallet was closed needs no repair.

**Sends.** A :class:`WalletSession` is used under the wallet's inter-process lock (the CLI
holds ``exclusive_lock(paths.lock)`` for the whole command). ``send`` syncs, selects among
spendable coins excluding those reserved by pending sends, saves ``wallet.json`` with the new
pending send and the advanced change index *before* broadcasting, then broadcasts; if the node
refuses the transaction the file is put back exactly as it was. Two ``send`` commands started
together therefore run one after the other, and the second sees the first's transaction (in
the node's mempool, and as a pending send): they never pick the same coins.

**Pending and recent sends.** On each sync our sends are classified
(:mod:`wallet.history`): a pending send that confirmed moves to ``recent`` (kept for
``WATCH_DEPTH`` confirmations so that a reorg undoing it is noticed), a conflicted one too; a
recent one that is unconfirmed or unknown to the node again moves back to ``pending``; a
pending one the node does not know (``dropped``) is broadcast again, and forgotten if the
node refuses it for good.
"""

from wallet.creation import CreatedWallet, create_wallet, keychain_for, restore_wallet
from wallet.location import WalletLocation, check_exists, keystore_info, read_metadata
from wallet.parsing import (
    FEE_TARGET,
    MAX_FEE_RATE,
    parse_address,
    parse_fee_rate,
    rate_from_estimates,
)
from wallet.sending import BumpResult, SendResult
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
    "create_wallet",
    "keychain_for",
    "keystore_info",
    "parse_address",
    "parse_fee_rate",
    "rate_from_estimates",
    "read_metadata",
    "restore_wallet",
]
