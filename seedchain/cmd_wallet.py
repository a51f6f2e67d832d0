"""``seedchain wallet``: the wallet on the command line.

    seedchain wallet [--datadir DIR] [--wallet NAME] [--node URL] [--network N] COMMAND ...

(``seedchain wallet --help`` lists the commands; docs/wallet.md describes each.)

Every command accepts ``--password-file F`` (``-`` reads standard input) and ``--json``, even
where no password is needed; without a password file the password is asked at a prompt
(never from the command line). Options fall back to ``SEEDCHAIN_*`` environment variables
(``SEEDCHAIN_DATADIR``, ``SEEDCHAIN_WALLET``, ``SEEDCHAIN_NODE``, ``SEEDCHAIN_NETWORK``,
``SEEDCHAIN_PASSWORD_FILE``, ``SEEDCHAIN_JSON``, ``SEEDCHAIN_FEE_RATE``, ...). Human output
shows exact decimal coins (a table on a terminal, plain text otherwise); ``--json`` amounts are
integers of base units. Bad input exits 1 (2 for a usage error) with one ``error: ...`` line.

The logic is in ``wallet.engine``. This module parses the arguments and registers the
commands; the handlers are in ``seedchain.wallet_commands_setup`` (create, restore, address,
password, label, info) and ``seedchain.wallet_commands_chain`` (balance, history, utxos, send,
bump), ``seedchain.wallet_commands_offline`` (export-watch, import-watch, sign, broadcast),
on top of ``seedchain.wallet_context`` (location, node, lock, session),
``seedchain.wallet_secrets`` (password and phrase input) and ``seedchain.wallet_output``
(JSON, tables, plain text). Their
public names are re-exported here. May import the standard library, ``seedchain`` and
``wallet`` (lazily, when a command runs); never ``node``, ``p2p``, ``pool`` or ``mining``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from seedchain import wallet_commands_coins, wallet_commands_offline, wallet_commands_setup
from seedchain.cli import CommandError
from seedchain.runner import env
from seedchain.wallet_commands_chain import (
    cmd_balance,
    cmd_bump,
    cmd_cancel,
    cmd_cpfp,
    cmd_history,
    cmd_send,
    cmd_utxos,
)
from seedchain.wallet_commands_coins import cmd_freeze, cmd_unfreeze
from seedchain.wallet_commands_inspect import cmd_addresses, cmd_list, cmd_tx
from seedchain.wallet_commands_messages import cmd_sign_message, cmd_verify_message
from seedchain.wallet_commands_setup import (
    cmd_address,
    cmd_backup,
    cmd_create,
    cmd_info,
    cmd_label,
    cmd_password,
    cmd_restore,
)
from seedchain.wallet_secrets import MAX_SECRET_FILE, read_password, read_secret_file
from seedchain.wallet_send_args import add_send_arguments

__all__ = [
    "MAX_SECRET_FILE",
    "NETWORKS",
    "OneLineParser",
    "cmd_address",
    "cmd_addresses",
    "cmd_backup",
    "cmd_balance",
    "cmd_bump",
    "cmd_cancel",
    "cmd_cpfp",
    "cmd_create",
    "cmd_freeze",
    "cmd_history",
    "cmd_info",
    "cmd_label",
    "cmd_password",
    "cmd_restore",
    "cmd_send",
    "cmd_sign_message",
    "cmd_unfreeze",
    "cmd_utxos",
    "cmd_verify_message",
    "read_password",
    "read_secret_file",
    "register",
    "run",
]

NETWORKS = ("main", "test", "regtest")


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one ``error: ...`` line (exit 2), unknown arguments included."""

    def error(self, message: str) -> NoReturn:
        _usage_error(self, message)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


def _one_line_usage_errors(parser: argparse.ArgumentParser) -> None:
    """Make a parser made by ``seedchain.cli`` (so not a :class:`OneLineParser`) report usage
    errors and unknown arguments as one line too."""
    parse_known_args = parser.parse_known_args

    def strict(
        args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = parse_known_args(args, namespace)
        if extras:
            _usage_error(parser, f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras

    parser.error = lambda message: _usage_error(parser, message)  # type: ignore[method-assign]
    parser.parse_known_args = strict  # type: ignore[method-assign,assignment]


def _usage_error(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    print(f"error: {parser.prog}: {message} (see --help)", file=sys.stderr)
    raise SystemExit(2)


def _flag(name: str) -> bool:
    return (env(name, "") or "").strip().lower() in ("1", "true", "yes", "on")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "wallet",
        help="the wallet: create, receive, send, balance, history, password",
        description="The Seedchain wallet, a client of a node's REST API.",
    )
    _one_line_usage_errors(p)
    p.add_argument(
        "--datadir",
        default=env("DATADIR"),
        help="where wallets live: DIR/wallets/NAME (default ~/.seedchain/<network>)",
    )
    p.add_argument("--wallet", default=env("WALLET", "default"), help="wallet name")
    p.add_argument(
        "--node", default=env("NODE"), help="the node's REST API (default http://127.0.0.1:<api>)"
    )
    p.add_argument(
        "--network", default=env("NETWORK", "main"), choices=NETWORKS, help="default main"
    )

    common = OneLineParser(add_help=False)
    common.add_argument(
        "--password-file",
        default=env("PASSWORD_FILE"),
        metavar="FILE",
        help="read the password from FILE ('-': standard input) instead of a prompt",
    )
    common.add_argument(
        "--json", action="store_true", default=_flag("JSON"), help="machine-readable output"
    )

    commands = p.add_subparsers(
        dest="wallet_command", metavar="COMMAND", required=True, parser_class=OneLineParser
    )
    create = commands.add_parser(
        "create", parents=[common], help="create a wallet; prints its recovery phrase once"
    )
    create.set_defaults(wallet_handler=cmd_create)

    restore = commands.add_parser(
        "restore", parents=[common], help="restore a wallet from its recovery phrase"
    )
    restore.add_argument(
        "--mnemonic-file",
        default=env("MNEMONIC_FILE"),
        metavar="FILE",
        help="read the recovery phrase from FILE instead of a prompt",
    )
    restore.add_argument(
        "--passphrase-file",
        default=env("PASSPHRASE_FILE"),
        metavar="FILE",
        help="the optional BIP 39 passphrase, from FILE",
    )
    restore.add_argument(
        "--no-scan",
        action="store_true",
        help="do not ask the node for the used addresses (they are found on the next run)",
    )
    restore.set_defaults(wallet_handler=cmd_restore)

    address = commands.add_parser(
        "address", parents=[common], help="a fresh receiving address (or the one at --index)"
    )
    address.add_argument(
        "--index", type=int, default=None, help="show the receiving address at this index"
    )
    address.add_argument("--label", default=None, help="label the fresh address with TEXT")
    address.add_argument(
        "--amount", default=None, help="ask for this many coins in the payment URI (BIP 21)"
    )
    address.add_argument("--message", default=None, help="a message for the payment URI")
    address.set_defaults(wallet_handler=cmd_address)

    balance = commands.add_parser("balance", parents=[common], help="confirmed and pending coins")
    balance.set_defaults(wallet_handler=cmd_balance)

    send = commands.add_parser(
        "send",
        parents=[common],
        help="pay AMOUNT coins to ADDRESS (more pairs: one transaction paying each)",
        description="Pay AMOUNT coins to ADDRESS. More ADDRESS AMOUNT pairs pay several"
        " recipients in one transaction (each address once). AMOUNT 'max' sends every"
        " spendable coin to one ADDRESS, the fee taken from it, with no change. @FILE pays"
        " every ADDRESS,AMOUNT line of a CSV file ('@-': standard input).",
    )
    add_send_arguments(send)
    send.add_argument(
        "--dry-run",
        action="store_true",
        help="build and sign it, ask the node whether it would accept it, send nothing",
    )
    send.add_argument(
        "--from",
        dest="coin_from",
        action="append",
        metavar="ADDRESS|TXID:VOUT",
        help="coin control: spend only these coins, or the coins of these addresses"
        " (repeatable; with 'max', all of them)",
    )
    _unsigned(send)
    _fee_rate(send, "units per byte (default: the node's estimate for 6 blocks, rounded up)")
    send.set_defaults(wallet_handler=cmd_send)

    bump = commands.add_parser(
        "bump", parents=[common], help="replace an unconfirmed send with a higher fee (RBF)"
    )
    bump.add_argument("txid", metavar="TXID")
    bump.add_argument(
        "--decrease-payment",
        action="store_true",
        help="the payments pay the extra fee (same coins, same change); the default takes it"
        " from the change, then from other confirmed coins",
    )
    _unsigned(bump)
    _fee_rate(bump, "units per byte (default: the estimate, at least 1 above the original's rate)")
    bump.set_defaults(wallet_handler=cmd_bump)

    cancel = commands.add_parser(
        "cancel",
        parents=[common],
        help="replace an unconfirmed send by one paying its coins back to us (RBF)",
    )
    cancel.add_argument("txid", metavar="TXID")
    _unsigned(cancel)
    _fee_rate(cancel, "units per byte (default: the estimate, at least 1 above the original's)")
    cancel.set_defaults(wallet_handler=cmd_cancel)

    cpfp = commands.add_parser(
        "cpfp",
        parents=[common],
        help="speed up an unconfirmed payment to us by spending it with a high fee (CPFP)",
    )
    cpfp.add_argument("txid", metavar="TXID")
    _unsigned(cpfp)
    _fee_rate(
        cpfp,
        "units per byte for parent and child together (default: the estimate, and at least 1"
        " above the parent's)",
    )
    cpfp.set_defaults(wallet_handler=cmd_cpfp)

    history = commands.add_parser(
        "history", parents=[common], help="transactions with confirmations"
    )
    history.add_argument("--limit", type=int, default=None, help="show the newest N only")
    history.add_argument(
        "--csv", action="store_true", help="CSV for spreadsheets (amounts in exact coins)"
    )
    history.set_defaults(wallet_handler=cmd_history)

    utxos = commands.add_parser("utxos", parents=[common], help="unspent outputs")
    utxos.set_defaults(wallet_handler=cmd_utxos)

    tx = commands.add_parser(
        "tx", parents=[common], help="one of our transactions in detail: inputs, outputs, fee"
    )
    tx.add_argument("txid", metavar="TXID")
    tx.set_defaults(wallet_handler=cmd_tx)

    addresses = commands.add_parser(
        "addresses",
        parents=[common],
        help="every address handed out or used, with what it received and holds",
    )
    addresses.add_argument("--kind", choices=["receive", "change"], default=None)
    used = addresses.add_mutually_exclusive_group()
    used.add_argument("--used", dest="used", action="store_true", default=None)
    used.add_argument("--unused", dest="used", action="store_false")
    addresses.set_defaults(wallet_handler=cmd_addresses)

    listing = commands.add_parser(
        "list", parents=[common], help="the wallets of the data directory (no password)"
    )
    listing.set_defaults(wallet_handler=cmd_list)

    password = commands.add_parser(
        "password",
        parents=[common],
        help="change the wallet's password (the keystore is encrypted again)",
    )
    password.add_argument(
        "--new-password-file",
        default=env("NEW_PASSWORD_FILE"),
        metavar="FILE",
        help="read the new password from FILE ('-': standard input) instead of a prompt",
    )
    password.set_defaults(wallet_handler=cmd_password)
    wallet_commands_setup.register(commands, common)  # seed, gap-limit, restore --gap-limit

    label = commands.add_parser(
        "label",
        parents=[common],
        help="label an address or a transaction (no TEXT: show; empty TEXT: remove; nothing:"
        " list all)",
    )
    label.add_argument("target", nargs="?", metavar="ADDRESS|TXID")
    label.add_argument("text", nargs="?", metavar="TEXT")
    label.set_defaults(wallet_handler=cmd_label)

    backup = commands.add_parser(
        "backup",
        parents=[common],
        help="copy the encrypted keystore and wallet.json into DIR (never overwrites)",
    )
    backup.add_argument("directory", metavar="DIR")
    backup.set_defaults(wallet_handler=cmd_backup)

    wallet_commands_coins.register(commands, common)  # freeze, unfreeze, abandon

    sign = commands.add_parser(
        "sign-message", parents=[common], help="sign MESSAGE with the key of one of our ADDRESSes"
    )
    sign.add_argument("address", metavar="ADDRESS")
    sign.add_argument("message", metavar="MESSAGE")
    sign.set_defaults(wallet_handler=cmd_sign_message)

    verify = commands.add_parser(
        "verify-message",
        parents=[common],
        help="check a signed message (no wallet needed); exit 0 only if it verifies",
    )
    verify.add_argument("address", metavar="ADDRESS")
    verify.add_argument("signature", metavar="SIGNATURE")
    verify.add_argument("message", metavar="MESSAGE")
    verify.set_defaults(wallet_handler=cmd_verify_message)

    wallet_commands_offline.register(commands, common)
    info = commands.add_parser(
        "info", parents=[common], help="network, name, next indexes, node (no password)"
    )
    info.set_defaults(wallet_handler=cmd_info)
    p.set_defaults(handler=run)


def _unsigned(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--unsigned",
        metavar="FILE",
        help="write the transaction to FILE unsigned, to `sign` offline (watch-only wallets)",
    )


def _fee_rate(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--fee-rate", default=env("FEE_RATE"), metavar="R", help=help_text)


# --- running ------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    from wallet.errors import WalletError

    try:
        handler: Callable[[argparse.Namespace], int] = args.wallet_handler
        return handler(args)
    except WalletError as exc:
        raise CommandError(str(exc)) from None
    except BrokenPipeError:  # `seedchain wallet history | head`: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        raise CommandError(f"cannot access{where}: {exc.strerror or exc}") from None
