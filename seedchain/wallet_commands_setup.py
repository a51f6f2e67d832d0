"""``seedchain wallet`` commands about the wallet itself: ``create``, ``restore``, ``address``,
``password``, ``seed``, ``label``, ``backup`` and ``info``.

May import the standard library, ``consensus``, ``wallet`` (lazily) and the ``seedchain``
modules ``cli``, ``wallet_context``, ``wallet_output`` and ``wallet_secrets``; never ``node``,
``p2p``, ``pool`` or ``mining``. Each handler takes the parsed arguments and returns the exit
code; a :class:`wallet.errors.WalletError` is turned into a one-line error by the caller.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from seedchain.cli import CommandError
from seedchain.wallet_context import (
    locked,
    node_client,
    resolve_node_url,
    run_async,
    update_metadata,
    wallet_location,
    with_session,
)
from seedchain.wallet_output import format_coins, is_tty, print_json, print_pairs, print_table
from seedchain.wallet_secrets import (
    prompt_secret,
    read_new_password,
    read_password,
    read_secret_file,
)

if TYPE_CHECKING:
    from wallet.engine import WalletSession


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    seed = commands.add_parser(
        "seed", parents=[common], help="show the recovery phrase again (asks the password)"
    )
    seed.set_defaults(wallet_handler=cmd_seed)
    gap = commands.add_parser(
        "gap-limit",
        parents=[common],
        help="unused addresses a scan looks past the last used one (none given: show it)",
    )
    gap.add_argument("limit", nargs="?", type=gap_limit_argument, metavar="N")
    gap.set_defaults(wallet_handler=cmd_gap_limit)
    commands.choices["restore"].add_argument(
        "--gap-limit",
        type=gap_limit_argument,
        default=20,
        metavar="N",
        help="unused addresses to look past the last used one on each chain (default 20)",
    )


def gap_limit_argument(text: str) -> int:
    """argparse type: a gap limit (1 to ``MAX_GAP_LIMIT``)."""
    from wallet.metadata import checked_gap_limit

    try:
        return checked_gap_limit(int(text))
    except ValueError as exc:
        message = str(exc) if "gap limit" in str(exc) else f"not a whole number: {text!r}"
        raise argparse.ArgumentTypeError(message) from None


def cmd_gap_limit(args: argparse.Namespace) -> int:
    """Electrum's gap limit: ``gap-limit N`` sets it (the next sync scans that far past the last
    used address of each chain), ``gap-limit`` shows it. Not secret: no password."""
    from dataclasses import replace

    from wallet.engine import check_wallet, read_metadata

    location = wallet_location(args)
    check_wallet(location)
    if args.limit is None:
        meta = read_metadata(location)[0]
    else:
        meta = update_metadata(location, lambda old: replace(old, gap_limit=args.limit))
    if args.json:
        print_json({"wallet": args.wallet, "gap_limit": meta.gap_limit})
    else:
        print(f"gap limit of wallet {args.wallet!r}: {meta.gap_limit}")
    return 0


def cmd_create(args: argparse.Namespace) -> int:
    from wallet.engine import create_wallet
    from wallet.errors import WalletExists

    location = wallet_location(args)
    if location.paths.keystore.exists() or location.paths.watch.exists():
        raise WalletExists(f"a wallet already exists in {location.paths.directory}")
    password = read_password(args, confirm=True)
    created = create_wallet(location, password)
    words = created.mnemonic.split()
    warning = (
        "Write these words down, in order, and keep them offline: they are the only way to"
        " restore this wallet, and anyone who has them can spend its coins."
        " `seedchain wallet seed` shows them again, with the password."
    )
    if args.json:
        print_json(
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
    _print_phrase(words)
    print("WARNING: " + warning)
    return 0


def _print_phrase(words: list[str]) -> None:
    print()
    print(f"Recovery phrase ({len(words)} words):")
    for row in range(0, len(words), 6):
        cells = [f"{i + 1:>2}. {words[i]:<8}" for i in range(row, min(row + 6, len(words)))]
        print("  " + "  ".join(cells).rstrip())
    print()


def cmd_seed(args: argparse.Namespace) -> int:
    """Electrum's "Wallet > Seed": the recovery phrase (and its BIP 39 passphrase, if it has
    one) again, after the password. Printed on standard output only, never logged."""
    from wallet.engine import keystore_info
    from wallet.keystore import open_keystore

    location = wallet_location(args)
    keystore_info(location)  # a missing or watch-only wallet before any prompt
    _, secrets = open_keystore(location.paths.keystore, read_password(args))
    words = secrets.mnemonic.split()
    warning = "Anyone who sees these words can spend this wallet's coins."
    if args.json:
        print_json(
            {
                "wallet": args.wallet,
                "mnemonic": secrets.mnemonic,
                "words": len(words),
                "passphrase": secrets.passphrase,
                "warning": warning,
            }
        )
        return 0
    print(f"Wallet {args.wallet!r} ({location.params.name})")
    _print_phrase(words)
    if secrets.passphrase:
        print(f"Passphrase (BIP 39 extension, needed with the words): {secrets.passphrase}")
        print()
    print("WARNING: " + warning)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from wallet.engine import restore_wallet
    from wallet.errors import WalletExists
    from wallet.mnemonic import validate_mnemonic

    location = wallet_location(args)
    if location.paths.keystore.exists() or location.paths.watch.exists():
        raise WalletExists(f"a wallet already exists in {location.paths.directory}")
    if args.mnemonic_file:
        phrase = read_secret_file(args.mnemonic_file, "mnemonic")
    else:
        phrase = prompt_secret("Recovery phrase (words separated by spaces): ", "mnemonic")
    phrase = validate_mnemonic(phrase)
    passphrase = (
        read_secret_file(args.passphrase_file, "passphrase") if args.passphrase_file else ""
    )
    if args.password_file and args.password_file == args.mnemonic_file == "-":
        raise CommandError("only one of the password and the mnemonic can come from stdin")
    password = read_password(args, confirm=True)
    node_url = None if args.no_scan else resolve_node_url(args)

    async def main() -> Any:
        from wallet.client import NodeClient

        gap = {"passphrase": passphrase, "gap_limit": args.gap_limit}
        if node_url is None:
            return await restore_wallet(location, password, phrase, None, **gap)
        async with NodeClient(node_url) as node:
            return await restore_wallet(location, password, phrase, node, **gap)

    created, view = run_async(main)
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
        print_json(result)
        return 0
    print(f"Restored wallet {args.wallet!r} ({location.params.name}) in {created.paths.directory}")
    if view is None:
        print("Not scanned: addresses in use are found by the next command that asks the node.")
        return 0
    print_pairs(
        [
            ("used receive addresses", str(meta.next_receive)),
            ("used change addresses", str(meta.next_change)),
            ("transactions", str(len(view.history))),
            ("balance", format_coins(view.balance.total)),
        ]
    )
    return 0


def cmd_address(args: argparse.Namespace) -> int:
    if args.index is not None and not 0 <= args.index < 2**31:
        raise CommandError(f"--index must be between 0 and {2**31 - 1}")

    from wallet.amounts import parse_amount
    from wallet.labels import check_label_text
    from wallet.payuri import encode_uri

    label = check_label_text(args.label or "")
    if label and args.index is not None:
        raise CommandError("--label goes with a fresh address; label others with `label`")
    amount = None if args.amount is None else parse_amount(args.amount)
    message = check_label_text(args.message or "")

    async def body(session: WalletSession) -> tuple[int, str, str]:
        if args.index is not None:
            address, path = session.address_at(args.index)
            return args.index, address, path
        return session.new_address(label)

    index, address, path = with_session(args, body, needs_node=False)
    uri = encode_uri(address, amount, label or None, message or None)
    if args.json:
        data = {"address": address, "index": index, "path": path, "label": label or None}
        print_json({**data, "uri": uri})
    elif is_tty():
        print_pairs([("address", address), ("index", str(index)), ("path", path), ("uri", uri)])
    else:
        print(address)
    return 0


def cmd_password(args: argparse.Namespace) -> int:
    """Re-encrypt the keystore under a new password (fresh salt and nonce), atomically and
    under the wallet's lock; the old password must open it first."""
    from wallet.engine import keystore_info
    from wallet.keystore import change_password, open_keystore

    location = wallet_location(args)
    keystore_info(location)  # a missing wallet or a network mismatch before any prompt
    if args.password_file == "-" and args.new_password_file == "-":
        raise CommandError("only one of the passwords can come from standard input")
    old = read_password(args)
    new = read_new_password(args)
    with locked(location):
        if new == old:
            open_keystore(location.paths.keystore, old)  # a wrong password says so first
            raise CommandError("the new password is the same as the old one")
        change_password(location.paths.keystore, old, new)
    if args.json:
        print_json({"wallet": args.wallet, "password_changed": True})
    else:
        print(f"Password of wallet {args.wallet!r} changed.")
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    """``label``: every label; ``label TARGET``: one; ``label TARGET TEXT``: set it (an empty
    TEXT removes it). Labels are not secret: no password, only the wallet's lock."""
    from wallet.engine import check_wallet, read_metadata
    from wallet.labels import label_key, with_label

    location = wallet_location(args)
    check_wallet(location)
    if args.target is None:
        labels = read_metadata(location)[0].labels
        if args.json:
            print_json({"labels": labels})
        else:
            print_table("Labels", ["address or txid", "label"], sorted(map(list, labels.items())))
        return 0
    key = label_key(args.target, location.params)
    if args.text is None:
        label = read_metadata(location)[0].labels.get(key)
    else:
        updated = update_metadata(location, lambda meta: with_label(meta, key, args.text))
        label = updated.labels.get(key)
    if args.json:
        print_json({"target": key, "label": label})
    else:
        print(f"{key}: {label}" if label is not None else f"{key}: no label")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """Copy the (encrypted) keystore and wallet.json into DIR, under the wallet's lock."""
    from pathlib import Path

    from wallet.backup import backup_wallet
    from wallet.engine import check_wallet

    location = wallet_location(args)
    check_wallet(location)
    with locked(location):
        result = backup_wallet(location.paths, Path(args.directory).expanduser())
    if args.json:
        print_json({"directory": str(result.directory), "files": list(result.files)})
    else:
        print(f"Backed up {', '.join(result.files)} to {result.directory}")
        print("Restore by copying that directory to <datadir>/wallets/<name>.")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from wallet.engine import check_wallet, read_metadata
    from wallet.errors import WalletError

    location = wallet_location(args)
    info = check_wallet(location)
    meta, _raw = read_metadata(location)
    node_url = resolve_node_url(args)
    tip_height: int | None = None
    node_error: str | None = None

    async def main() -> int:
        async with node_client(args, timeout=10.0, connect_timeout=3.0, retry_budget=2.0) as node:
            chain = await node.chain()
            if chain["network"] != location.params.name:
                raise WalletError(f"the node is on {chain['network']}, not {location.params.name}")
            return int(chain["height"])

    try:
        tip_height = run_async(main)
    except WalletError as exc:
        node_error = str(exc)
    result = {
        "wallet": args.wallet,
        "network": location.params.name,
        "datadir": str(location.datadir),
        "path": str(location.paths.directory),
        "next_receive": meta.next_receive,
        "next_change": meta.next_change,
        "gap_limit": meta.gap_limit,
        "pending": len(meta.pending),
        "node": node_url,
        "tip_height": tip_height,
        "node_error": node_error,
        "watch_only": info is None,
        "kdf": None
        if info is None
        else {"name": "scrypt", "n": info.kdf.n, "r": info.kdf.r, "p": info.kdf.p},
    }
    if args.json:
        print_json(result)
        return 0
    print_pairs(
        [
            ("wallet", args.wallet),
            ("network", location.params.name),
            ("kind", "watch-only (public keys, no private keys)" if info is None else "keys"),
            ("path", str(location.paths.directory)),
            ("next receive index", str(meta.next_receive)),
            ("next change index", str(meta.next_change)),
            ("gap limit", str(meta.gap_limit)),
            ("pending sends", str(len(meta.pending))),
            ("node", node_url),
            ("tip height", str(tip_height) if tip_height is not None else f"? ({node_error})"),
        ]
    )
    return 0
