"""``seedchain wallet``: the wallet on the command line.

    seedchain wallet [--datadir DIR] [--wallet NAME] [--node URL] [--network N] COMMAND
        create | restore | address [--index I] | balance | send ADDRESS AMOUNT [--fee-rate R]
        | bump TXID [--fee-rate R] | history | utxos | info

Every command accepts ``--password-file F`` (``-`` reads standard input) and ``--json``, even
where no password is needed; without a password file the password is asked at a prompt
(never from the command line). Options fall back to ``SEEDCHAIN_*`` environment variables
(``SEEDCHAIN_DATADIR``, ``SEEDCHAIN_WALLET``, ``SEEDCHAIN_NODE``, ``SEEDCHAIN_NETWORK``,
``SEEDCHAIN_PASSWORD_FILE``, ``SEEDCHAIN_JSON``, ``SEEDCHAIN_FEE_RATE``, ...). Human output
shows exact decimal coins (a table on a terminal, plain text otherwise); ``--json`` amounts are
integers of base units. Bad input exits 1 (2 for a usage error) with one ``error: ...`` line.

The logic is in ``wallet.engine``; this module reads secrets, holds the wallet's lock for the
whole command, and prints.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from seedchain.cli import CommandError
from seedchain.runner import env

if TYPE_CHECKING:
    from wallet.client import NodeClient
    from wallet.engine import WalletLocation, WalletSession
    from wallet.history import HistoryEntry, WalletCoin, WalletView

T = TypeVar("T")
NETWORKS = ("main", "test", "regtest")
MAX_SECRET_FILE = 64 * 1024


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
        help="the wallet: create, receive, send, balance, history",
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
    address.set_defaults(wallet_handler=cmd_address)

    balance = commands.add_parser("balance", parents=[common], help="confirmed and pending coins")
    balance.set_defaults(wallet_handler=cmd_balance)

    send = commands.add_parser("send", parents=[common], help="pay AMOUNT coins to ADDRESS")
    send.add_argument("address", metavar="ADDRESS")
    send.add_argument("amount", metavar="AMOUNT", help="coins, e.g. 12.5 (at most 8 decimals)")
    send.add_argument(
        "--fee-rate",
        default=env("FEE_RATE"),
        metavar="R",
        help="units per byte (default: the node's estimate for 6 blocks, rounded up)",
    )
    send.set_defaults(wallet_handler=cmd_send)

    bump = commands.add_parser(
        "bump", parents=[common], help="replace an unconfirmed send with a higher fee (RBF)"
    )
    bump.add_argument("txid", metavar="TXID")
    bump.add_argument(
        "--fee-rate",
        default=env("FEE_RATE"),
        metavar="R",
        help="units per byte (default: the estimate, at least 1 above the original's rate)",
    )
    bump.set_defaults(wallet_handler=cmd_bump)

    history = commands.add_parser(
        "history", parents=[common], help="transactions with confirmations"
    )
    history.add_argument("--limit", type=int, default=None, help="show the newest N only")
    history.set_defaults(wallet_handler=cmd_history)

    utxos = commands.add_parser("utxos", parents=[common], help="unspent outputs")
    utxos.set_defaults(wallet_handler=cmd_utxos)

    info = commands.add_parser(
        "info", parents=[common], help="network, name, next indexes, node (no password)"
    )
    info.set_defaults(wallet_handler=cmd_info)
    p.set_defaults(handler=run)


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


def _location(args: argparse.Namespace) -> WalletLocation:
    from consensus.params import network
    from wallet.engine import WalletLocation

    params = network(args.network)
    datadir = (
        Path(args.datadir).expanduser()
        if args.datadir
        else Path.home() / ".seedchain" / params.name
    )
    return WalletLocation(datadir, args.wallet, params)


def _node_url(args: argparse.Namespace) -> str:
    from consensus.params import network
    from wallet.client import check_node_url, default_node_url

    return check_node_url(args.node) if args.node else default_node_url(network(args.network))


def _client(args: argparse.Namespace, **kwargs: Any) -> NodeClient:
    from wallet.client import NodeClient

    return NodeClient(_node_url(args), **kwargs)


def _run_async(factory: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await factory()

    return asyncio.run(main())


@contextlib.contextmanager
def _locked(location: WalletLocation) -> Iterator[None]:
    from wallet.engine import check_exists
    from wallet.fileio import exclusive_lock

    paths = check_exists(location)
    with exclusive_lock(paths.lock):
        yield


def _with_session(
    args: argparse.Namespace,
    body: Callable[[WalletSession], Awaitable[T]],
    *,
    needs_node: bool = True,
) -> T:
    """Read the password, take the wallet's lock, unlock it, run ``body`` with a node client."""
    from wallet.engine import WalletSession, check_exists, keystore_info

    location = _location(args)
    keystore_info(location)  # a missing wallet or a network mismatch before any prompt
    password = read_password(args)
    node_url = _node_url(args) if needs_node else None
    with _locked(location):
        check_exists(location)

        async def main() -> T:
            from wallet.client import NodeClient

            if node_url is None:
                return await body(WalletSession.open(location, password, None))
            async with NodeClient(node_url) as node:
                return await body(WalletSession.open(location, password, node))

        return _run_async(main)


# --- secrets --------------------------------------------------------------------------------------
def read_secret_file(path: str, what: str) -> str:
    """A password, phrase or passphrase from a file (``-``: standard input); one trailing
    newline is removed. The contents never appear in an error."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_SECRET_FILE + 1)
        else:
            with open(Path(path).expanduser(), "rb") as file:
                data = file.read(MAX_SECRET_FILE + 1)
    except OSError as exc:
        raise CommandError(f"cannot read the {what} file {path}: {exc.strerror}") from None
    if len(data) > MAX_SECRET_FILE:
        raise CommandError(f"the {what} file {path} is too large")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"the {what} file {path} is not UTF-8 text") from None
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    return text


def _prompt(prompt: str, what: str) -> str:
    if not sys.stdin.isatty():
        raise CommandError(
            f"a {what} is needed: use --{what.replace(' ', '-')}-file FILE, or run in a terminal"
            " to be asked"
        )
    try:
        return getpass.getpass(prompt)
    except EOFError:
        raise CommandError(f"no {what} given") from None


def read_password(args: argparse.Namespace, *, confirm: bool = False) -> str:
    if args.password_file:
        password = read_secret_file(args.password_file, "password")
    else:
        password = _prompt("Wallet password: ", "password")
        if confirm and _prompt("Repeat the password: ", "password") != password:
            raise CommandError("the passwords do not match")
    if confirm and not password:
        raise CommandError("the password must not be empty")
    return password


# --- output ---------------------------------------------------------------------------------------
def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2))


def _is_tty() -> bool:
    return sys.stdout.isatty()


def _print_pairs(pairs: Sequence[tuple[str, str]]) -> None:
    if _is_tty():
        from rich.console import Console
        from rich.table import Table

        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        for name, value in pairs:
            grid.add_row(name, value)
        Console().print(grid)
        return
    width = max((len(name) for name, _ in pairs), default=0)
    for name, value in pairs:
        print(f"{name:<{width}}  {value}")


def _print_table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()
) -> None:
    if _is_tty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for index, column in enumerate(columns):
            # fold rather than cut: a txid or an amount is never shown partly
            table.add_column(column, justify="right" if index in right else "left", overflow="fold")
        for row in rows:
            table.add_row(*row)
        Console().print(table)
        return
    widths = [len(c) for c in columns]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(w) if index in right else cell.ljust(w)
            for index, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    print(line(columns))
    for row in rows:
        print(line(row))


def _coins(units: int) -> str:
    from wallet.amounts import format_amount

    return format_amount(units)


def _rate(rate: int) -> str:
    return f"{rate} unit/byte" if rate == 1 else f"{rate} units/byte"


def _signed(units: int) -> str:
    return ("+" if units > 0 else "") + _coins(units)


# --- commands -------------------------------------------------------------------------------------
def cmd_create(args: argparse.Namespace) -> int:
    from wallet.engine import create_wallet
    from wallet.errors import WalletExists

    location = _location(args)
    if location.paths.keystore.exists():
        raise WalletExists(f"a wallet already exists at {location.paths.keystore}")
    password = read_password(args, confirm=True)
    created = create_wallet(location, password)
    words = created.mnemonic.split()
    warning = (
        "Write these words down, in order, and keep them offline: they are the only way to"
        " restore this wallet, and anyone who has them can spend its coins."
        " They are not shown again."
    )
    if args.json:
        _print_json(
            {
                "wallet": args.wallet,
                "network": location.params.name,
                "path": str(created.paths.directory),
                "mnemonic": created.mnemonic,
                "words": len(words),
                "warning": warning,
            }
        )
        return 0
    print(f"Created wallet {args.wallet!r} ({location.params.name}) in {created.paths.directory}")
    print()
    print(f"Recovery phrase ({len(words)} words):")
    for row in range(0, len(words), 6):
        cells = [f"{i + 1:>2}. {words[i]:<8}" for i in range(row, min(row + 6, len(words)))]
        print("  " + "  ".join(cells).rstrip())
    print()
    print("WARNING: " + warning)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from wallet.engine import restore_wallet
    from wallet.errors import WalletExists
    from wallet.mnemonic import validate_mnemonic

    location = _location(args)
    if location.paths.keystore.exists():
        raise WalletExists(f"a wallet already exists at {location.paths.keystore}")
    if args.mnemonic_file:
        phrase = read_secret_file(args.mnemonic_file, "mnemonic")
    else:
        phrase = _prompt("Recovery phrase (words separated by spaces): ", "mnemonic")
    phrase = validate_mnemonic(phrase)
    passphrase = (
        read_secret_file(args.passphrase_file, "passphrase") if args.passphrase_file else ""
    )
    if args.password_file and args.password_file == args.mnemonic_file == "-":
        raise CommandError("only one of the password and the mnemonic can come from stdin")
    password = read_password(args, confirm=True)
    node_url = None if args.no_scan else _node_url(args)

    async def main() -> Any:
        from wallet.client import NodeClient

        if node_url is None:
            return await restore_wallet(location, password, phrase, None, passphrase=passphrase)
        async with NodeClient(node_url) as node:
            return await restore_wallet(location, password, phrase, node, passphrase=passphrase)

    created, view = _run_async(main)
    meta = created.metadata
    result: dict[str, Any] = {
        "wallet": args.wallet,
        "network": location.params.name,
        "path": str(created.paths.directory),
        "scanned": view is not None,
        "next_receive": meta.next_receive,
        "next_change": meta.next_change,
        "transactions": None if view is None else len(view.history),
        "balance": None if view is None else view.balance.to_json(),
    }
    if args.json:
        _print_json(result)
        return 0
    print(f"Restored wallet {args.wallet!r} ({location.params.name}) in {created.paths.directory}")
    if view is None:
        print("Not scanned: addresses in use are found by the next command that asks the node.")
        return 0
    _print_pairs(
        [
            ("used receive addresses", str(meta.next_receive)),
            ("used change addresses", str(meta.next_change)),
            ("transactions", str(len(view.history))),
            ("balance", _coins(view.balance.total)),
        ]
    )
    return 0


def cmd_address(args: argparse.Namespace) -> int:
    if args.index is not None and not 0 <= args.index < 2**31:
        raise CommandError(f"--index must be between 0 and {2**31 - 1}")

    async def body(session: WalletSession) -> tuple[int, str, str]:
        if args.index is not None:
            address, path = session.address_at(args.index)
            return args.index, address, path
        return session.new_address()

    index, address, path = _with_session(args, body, needs_node=False)
    if args.json:
        _print_json({"address": address, "index": index, "path": path})
    elif _is_tty():
        _print_pairs([("address", address), ("index", str(index)), ("path", path)])
    else:
        print(address)
    return 0


async def _synced(session: WalletSession) -> WalletView:
    view = await session.sync()
    session.save_reconciled()
    return view


def cmd_balance(args: argparse.Namespace) -> int:
    view = _with_session(args, _synced)
    balance = view.balance
    if args.json:
        _print_json({**balance.to_json(), "tip_height": view.tip_height})
        return 0
    pairs = [
        ("confirmed", _coins(balance.confirmed)),
        ("unconfirmed", _signed(balance.unconfirmed)),
        ("total", _coins(balance.total)),
        ("immature", _coins(balance.immature)),
        ("spendable", _coins(balance.spendable)),
    ]
    if balance.reserved:
        pairs.append(("reserved", _coins(balance.reserved)))
    pairs.append(("tip height", str(view.tip_height)))
    _print_pairs(pairs)
    return 0


def _status_text(entry: HistoryEntry) -> str:
    if entry.status == "confirmed":
        return f"{entry.confirmations} conf"
    return entry.status


def cmd_history(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise CommandError("--limit must be at least 1")
    view = _with_session(args, _synced)
    entries = view.history if args.limit is None else view.history[: args.limit]
    if args.json:
        _print_json({"tip_height": view.tip_height, "transactions": [e.to_json() for e in entries]})
        return 0
    rows = []
    for entry in entries:
        kind = "coinbase" if entry.coinbase else ("received" if entry.net >= 0 else "sent")
        rows.append(
            [
                _status_text(entry),
                "" if entry.height is None else str(entry.height),
                kind,
                _signed(entry.net),
                "" if entry.fee is None else _coins(entry.fee),
                entry.to_json()["txid"],
            ]
        )
    _print_table(
        f"History (tip {view.tip_height})",
        ["status", "height", "type", "amount", "fee", "txid"],
        rows,
        right=(1, 3, 4),
    )
    return 0


def _coin_flags(coin: WalletCoin) -> str:
    flags = []
    if coin.height is None:
        flags.append("unconfirmed")
    if not coin.mature:
        flags.append("immature")
    if coin.reserved:
        flags.append("reserved")
    if not coin.trusted:
        flags.append("untrusted")
    return ",".join(flags)


def cmd_utxos(args: argparse.Namespace) -> int:
    from consensus.addresses import lock_to_address
    from wallet.keys import format_path, wallet_path

    view = _with_session(args, _synced)
    hrp = _location(args).params.hrp
    if args.json:
        _print_json(
            {
                "tip_height": view.tip_height,
                "utxos": [
                    {
                        "txid": str(coin.outpoint).rpartition(":")[0],
                        "vout": coin.outpoint.vout,
                        "value": coin.value,
                        "address": lock_to_address(coin.lock, hrp),
                        "path": format_path(wallet_path(0, coin.key_id.change, coin.key_id.index)),
                        "height": coin.height,
                        "confirmations": coin.confirmations,
                        "coinbase": coin.coinbase,
                        "mature": coin.mature,
                        "reserved": coin.reserved,
                        "spendable": coin.spendable,
                    }
                    for coin in view.coins
                ],
            }
        )
        return 0
    rows = [
        [
            str(coin.outpoint),
            _coins(coin.value),
            str(coin.confirmations),
            lock_to_address(coin.lock, hrp),
            _coin_flags(coin),
        ]
        for coin in view.coins
    ]
    _print_table(
        f"Unspent outputs (tip {view.tip_height})",
        ["outpoint", "amount", "conf", "address", "flags"],
        rows,
        right=(1, 2),
    )
    return 0


def _fee_rate(args: argparse.Namespace) -> int | None:
    from wallet.engine import parse_fee_rate

    return None if args.fee_rate is None else parse_fee_rate(str(args.fee_rate))


def cmd_send(args: argparse.Namespace) -> int:
    from wallet.amounts import parse_amount
    from wallet.engine import parse_address

    location = _location(args)
    parse_address(args.address, location.params)  # bad input fails before the password
    amount = parse_amount(args.amount)
    fee_rate = _fee_rate(args)

    async def body(session: WalletSession) -> Any:
        return await session.send(args.address, amount, fee_rate)

    result = _with_session(args, body)
    if args.json:
        _print_json(result.to_json())
        return 0
    data = result.to_json()
    _print_pairs(
        [
            ("sent", f"{_coins(result.amount)} to {result.address}"),
            ("txid", data["txid"]),
            ("fee", f"{_coins(result.fee)} ({_rate(result.fee_rate)}, {result.size} bytes)"),
            ("change", "none" if result.change is None else _coins(result.change)),
        ]
    )
    return 0


def cmd_bump(args: argparse.Namespace) -> int:
    from consensus.hashing import hex_to_hash

    text = args.txid.strip().lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise CommandError(f"invalid txid {args.txid[:80]!r}: expected 64 hex digits")
    txid = hex_to_hash(text)
    fee_rate = _fee_rate(args)

    async def body(session: WalletSession) -> Any:
        return await session.bump(txid, fee_rate)

    result = _with_session(args, body)
    data = result.to_json()
    if args.json:
        _print_json(data)
        return 0
    _print_pairs(
        [
            ("replaced", data["replaces"]),
            ("txid", data["txid"]),
            (
                "fee",
                f"{_coins(result.fee)} (was {_coins(result.old_fee)};"
                f" {_rate(result.fee_rate)}, {result.size} bytes)",
            ),
        ]
    )
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from wallet.engine import keystore_info, read_metadata
    from wallet.errors import WalletError

    location = _location(args)
    info = keystore_info(location)
    meta, _raw = read_metadata(location)
    node_url = _node_url(args)
    tip_height: int | None = None
    node_error: str | None = None

    async def main() -> int:
        async with _client(args, timeout=10.0, connect_timeout=3.0, retry_budget=2.0) as node:
            chain = await node.chain()
            if chain["network"] != location.params.name:
                raise WalletError(f"the node is on {chain['network']}, not {location.params.name}")
            return int(chain["height"])

    try:
        tip_height = _run_async(main)
    except WalletError as exc:
        node_error = str(exc)
    result = {
        "wallet": args.wallet,
        "network": location.params.name,
        "datadir": str(location.datadir),
        "path": str(location.paths.directory),
        "next_receive": meta.next_receive,
        "next_change": meta.next_change,
        "pending": len(meta.pending),
        "node": node_url,
        "tip_height": tip_height,
        "node_error": node_error,
        "kdf": {"name": "scrypt", "n": info.kdf.n, "r": info.kdf.r, "p": info.kdf.p},
    }
    if args.json:
        _print_json(result)
        return 0
    _print_pairs(
        [
            ("wallet", args.wallet),
            ("network", location.params.name),
            ("path", str(location.paths.directory)),
            ("next receive index", str(meta.next_receive)),
            ("next change index", str(meta.next_change)),
            ("pending sends", str(len(meta.pending))),
            ("node", node_url),
            ("tip height", str(tip_height) if tip_height is not None else f"? ({node_error})"),
        ]
    )
    return 0
