"""``seedchain wallet`` commands for cold storage: ``export-watch``, ``import-watch``, ``sign``
and ``broadcast`` (with ``send --unsigned FILE``, in ``wallet_commands_chain``).

The wallet with the keys stays offline: it exports its public keys once (``export-watch``);
an online machine makes a watch-only wallet of them (``import-watch``) that shows balances and
history and makes unsigned transactions (``send ... --unsigned FILE``); the offline wallet checks
and signs the file (``sign FILE OUT``, no node); ``broadcast OUT`` sends it from the online
machine. The logic is in ``wallet.watch`` and ``wallet.offline``.

May import the standard library, ``consensus``, ``wallet`` (lazily) and the ``seedchain``
modules ``cli``, ``wallet_context`` and ``wallet_output``; never ``node``, ``p2p``, ``pool`` or
``mining``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consensus.hashing import hash_to_hex
from seedchain.cli import CommandError
from seedchain.wallet_context import wallet_location, with_session
from seedchain.wallet_output import format_coins, format_rate, print_json, print_pairs, print_table

if TYPE_CHECKING:
    from wallet.engine import WalletSession
    from wallet.offline import Checked


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add the four commands to ``seedchain wallet``'s subparsers."""
    export = commands.add_parser(
        "export-watch",
        parents=[common],
        help="write this wallet's public keys to FILE, for a watch-only wallet elsewhere",
    )
    export.add_argument("file", metavar="FILE", help="a new file (never overwritten)")
    export.add_argument(
        "--count",
        type=int,
        default=1000,
        metavar="N",
        help="public keys per chain (receive, change); at least those in use + the gap limit"
        " (default 1000)",
    )
    export.set_defaults(wallet_handler=cmd_export_watch)

    imported = commands.add_parser(
        "import-watch",
        parents=[common],
        help="make --wallet a watch-only wallet from an export-watch FILE (no password)",
    )
    imported.add_argument("file", metavar="FILE")
    imported.set_defaults(wallet_handler=cmd_import_watch)

    sign = commands.add_parser(
        "sign",
        parents=[common],
        help="check and sign a transaction FILE made by send --unsigned; write it to OUT",
    )
    sign.add_argument("file", metavar="FILE")
    sign.add_argument("out", metavar="OUT", help="the signed transaction file (never overwritten)")
    sign.set_defaults(wallet_handler=cmd_sign)

    broadcast = commands.add_parser(
        "broadcast",
        parents=[common],
        help="send a signed transaction FILE of this wallet and watch it as a pending send",
    )
    broadcast.add_argument("file", metavar="FILE")
    broadcast.set_defaults(wallet_handler=cmd_broadcast)


def new_file(text: str) -> Path:
    """An output path that must not exist yet (checked before any work)."""
    path = Path(text).expanduser()
    if path.exists():
        raise CommandError(f"{path} already exists: choose another file name")
    return path


def cmd_export_watch(args: argparse.Namespace) -> int:
    from wallet.watch import export_public_keys, write_export

    path = new_file(args.file)

    async def body(session: WalletSession) -> bytes:
        return export_public_keys(
            session.keychain, session.params.name, session.metadata, args.count
        )

    data = with_session(args, body, needs_node=False)
    write_export(path, data)
    if args.json:
        print_json({"file": str(path), "bytes": len(data)})
    else:
        print(f"Public keys written to {path}. On the online machine:")
        print(f"  seedchain wallet --wallet NAME import-watch {path.name}")
    return 0


def cmd_import_watch(args: argparse.Namespace) -> int:
    from wallet.fileio import read_file
    from wallet.watch import MAX_WATCH_FILE, create_watch_wallet

    location = wallet_location(args)
    path = Path(args.file).expanduser()
    raw = read_file(path, MAX_WATCH_FILE)
    watch = create_watch_wallet(location.paths, location.params.name, raw, str(path))
    keys = watch.keychain
    first = keys.key(0, watch.next_receive).address(location.params.hrp)
    result = {
        "wallet": args.wallet,
        "watch_only": True,
        "receive_keys": keys.available(0),
        "change_keys": keys.available(1),
        "next_address": first,
    }
    if args.json:
        print_json(result)
    else:
        print(
            f"Watch-only wallet {args.wallet!r} made: {keys.available(0)} receiving and"
            f" {keys.available(1)} change addresses, no private key."
        )
        print(f"Next receiving address: {first}")
    return 0


def _read_tx_file(args: argparse.Namespace) -> Any:
    from wallet.fileio import read_file
    from wallet.offline import MAX_TX_FILE, parse_tx_file

    location = wallet_location(args)
    path = Path(args.file).expanduser()
    return parse_tx_file(read_file(path, MAX_TX_FILE + 1), str(path), location.params)


def cmd_sign(args: argparse.Namespace) -> int:
    from wallet.offline import sign_file
    from wallet.watch import write_export

    txfile = _read_tx_file(args)
    out = new_file(args.out)

    async def body(session: WalletSession) -> tuple[Checked, bytes]:
        return sign_file(txfile, session.keychain, session.params)

    checked, signed = with_session(args, body, needs_node=False)
    write_export(out, signed)
    _print_checked(args, checked, {"file": str(out), "signed": True})
    if not args.json:
        print(f"Signed: {out}. Send it with `seedchain wallet broadcast {out.name}`.")
    return 0


def cmd_broadcast(args: argparse.Namespace) -> int:
    from wallet.offline import check_against
    from wallet.sending import broadcast_checked

    txfile = _read_tx_file(args)

    async def body(session: WalletSession) -> Checked:
        checked = check_against(txfile, session.keychain)
        await broadcast_checked(session, checked)
        return checked

    checked = with_session(args, body)
    _print_checked(args, checked, {"broadcast": True})
    return 0


def _print_checked(args: argparse.Namespace, checked: Checked, extra: dict[str, Any]) -> None:
    from consensus.addresses import lock_to_address

    location = wallet_location(args)
    hrp = location.params.hrp
    tx = checked.file.tx
    change = checked.file.change
    outputs: list[dict[str, Any]] = [
        {
            "vout": vout,
            "address": lock_to_address(out.lock, hrp),
            "value": out.value,
            "change": change is not None and change[0] == vout,
        }
        for vout, out in enumerate(tx.outputs)
    ]
    data = {
        "txid": tx.txid_hex,
        "inputs": len(tx.inputs),
        "outputs": outputs,
        "fee": checked.file.fee,
        "size": tx.size,
        **extra,
    }
    if args.json:
        print_json(data)
        return
    rows = [
        [
            str(vout),
            lock_to_address(out.lock, hrp),
            format_coins(out.value),
            "change" if change is not None and change[0] == vout else "",
        ]
        for vout, out in enumerate(tx.outputs)
    ]
    print_table("Outputs", ["vout", "address", "amount", ""], rows, right=(2,))
    print_pairs(
        [
            ("txid", tx.txid_hex),
            ("inputs", f"{len(tx.inputs)} of this wallet's coins"),
            (
                "fee",
                f"{format_coins(checked.file.fee)} ({checked.fee_rate:.2f}/byte, {tx.size} bytes)",
            ),
        ]
    )


def written(data: dict[str, Any], document: bytes | None, path: Path | None) -> dict[str, Any]:
    """``--unsigned``: write the transaction file to ``path``; ``data`` with its name."""
    if path is not None and document is not None:
        from wallet.watch import write_export

        write_export(path, document)
        data["file"] = str(path)
    return data


def print_unsigned_send(args: argparse.Namespace, result: Any, path: Path) -> int:
    """``send --unsigned FILE``: write the transaction file and say what it would pay."""
    data = written(result.to_json(), result.unsigned_file, path)
    if args.json:
        print_json(data)
        return 0
    print_pairs(
        [
            *[("would pay", f"{format_coins(v)} to {a}") for a, v in result.payments],
            ("txid", hash_to_hex(result.txid)),
            ("fee", f"{format_coins(result.fee)} ({format_rate(result.fee_rate)})"),
            ("unsigned", f"written to {path}: nothing sent"),
        ]
    )
    print(f"Sign it with `seedchain wallet sign {path.name} OUT` on the wallet with the keys.")
    return 0
