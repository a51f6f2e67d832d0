"""``seedchain wallet tx``, ``addresses`` and ``list``: one transaction in detail (Core's
``gettransaction``), every address with what it received and holds (Core's
``listreceivedbyaddress``, Electrum's Addresses tab; the data come from ``wallet.inspect``),
and the wallets of a data directory.

May import the standard library, ``consensus``, ``wallet`` (lazily) and the ``seedchain``
modules ``cli``, ``wallet_context`` and ``wallet_output``; never ``node``, ``p2p``, ``pool`` or
``mining``.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from seedchain.wallet_context import synced, txid_argument, wallet_location, with_session
from seedchain.wallet_output import (
    format_coins,
    format_signed,
    print_json,
    print_pairs,
    print_table,
)

if TYPE_CHECKING:
    from wallet.engine import WalletSession
    from wallet.keys import KeyId


def _path_of(session: WalletSession) -> Any:
    from wallet.keys import format_path

    def path_of(key: KeyId) -> str:
        return format_path(session.keychain.key(key.change, key.index).path)

    return path_of


def cmd_tx(args: argparse.Namespace) -> int:
    from wallet.inspect import transaction_detail

    txid = txid_argument(args)

    async def body(session: WalletSession) -> dict[str, Any]:
        view = await synced(session)
        labels = dict(session.metadata.labels)
        return transaction_detail(view, txid, session.hrp, labels, _path_of(session))

    detail = with_session(args, body)
    if args.json:
        print_json(detail)
        return 0
    pairs = [
        ("txid", detail["txid"]),
        ("status", detail["status"]),
        ("confirmations", str(detail["confirmations"])),
        ("height", "" if detail["height"] is None else str(detail["height"])),
        ("amount", format_signed(detail["net"])),
        ("fee", "" if detail["fee"] is None else format_coins(detail["fee"])),
        ("fee rate", "" if detail["fee_rate"] is None else f"{detail['fee_rate']} units/byte"),
        ("size", f"{detail['size']} bytes"),
    ]
    for key in ("label", "replaces", "conflicts_with"):
        if detail[key]:
            pairs.append((key.replace("_", " "), str(detail[key])))
    print_pairs(pairs)
    rows = [
        ["in", item["outpoint"], *_side(item)] for item in detail["inputs"]
    ] + [["out", str(item["vout"]), *_side(item)] for item in detail["outputs"]]
    print_table("Inputs and outputs", ["", "ref", "amount", "address", "ours"], rows, right=(2,))
    return 0


def _side(item: dict[str, Any]) -> list[str]:
    value = "" if item["value"] is None else format_coins(item["value"])
    ours = f"{item['kind']} {item['path']}" if item["ours"] else ""
    if item.get("label"):
        ours = f"{ours} ({item['label']})".strip()
    return [value, item["address"] or "", ours]


def cmd_addresses(args: argparse.Namespace) -> int:
    from wallet.inspect import address_rows
    from wallet.keys import CHANGE, RECEIVE

    async def body(session: WalletSession) -> tuple[int, list[Any]]:
        view = await synced(session)
        scan = session.scan
        assert scan is not None
        meta = session.metadata
        shown = {
            RECEIVE: max(meta.next_receive, scan.next_unused(RECEIVE)),
            CHANGE: max(meta.next_change, scan.next_unused(CHANGE)),
        }

        def lock_of(key: KeyId) -> bytes:
            return session.keychain.key(key.change, key.index).lock

        rows = address_rows(
            view, shown, session.hrp, dict(meta.labels), lock_of, _path_of(session)
        )
        return view.tip_height, rows

    tip_height, rows = with_session(args, body)
    if args.kind:
        rows = [row for row in rows if row.to_json()["kind"] == args.kind]
    if args.used is not None:
        rows = [row for row in rows if row.used == args.used]
    if args.json:
        print_json({"tip_height": tip_height, "addresses": [row.to_json() for row in rows]})
        return 0
    table = [
        [
            row.to_json()["kind"],
            str(row.key.index),
            row.address,
            format_coins(row.received),
            format_coins(row.balance),
            str(row.transactions),
            row.label or "",
        ]
        for row in rows
    ]
    print_table(
        f"Addresses (tip {tip_height})",
        ["kind", "index", "address", "received", "balance", "txs", "label"],
        table,
        right=(1, 3, 4, 5),
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """``list``: the wallets under ``<datadir>/wallets`` (Core's ``listwalletdir``), with the
    network each is for; no password. An unreadable keystore is listed with its error."""
    from wallet.errors import WalletError
    from wallet.keystore import read_keystore_info
    from wallet.watch import read_watch_file

    location = wallet_location(args)
    root = location.datadir / "wallets"
    wallets: list[dict[str, Any]] = []
    for directory in sorted(root.iterdir()) if root.is_dir() else []:
        keystore, watch = directory / "keystore.json", directory / "watch.json"
        if not directory.is_dir() or not (keystore.is_file() or watch.is_file()):
            continue
        watch_only = not keystore.is_file()
        entry: dict[str, Any] = {
            "name": directory.name,
            "path": str(directory),
            "watch_only": watch_only,
        }
        try:
            if watch_only:
                entry["network"] = read_watch_file(watch).network
            else:
                entry["network"] = read_keystore_info(keystore).network
            entry["error"] = None
        except (WalletError, OSError) as exc:
            entry["network"], entry["error"] = None, str(exc)
        wallets.append(entry)
    if args.json:
        print_json({"datadir": str(location.datadir), "wallets": wallets})
        return 0
    rows = [
        [
            w["name"],
            w["network"] or "",
            "watch-only" if w["watch_only"] else "keys",
            w["error"] or ("" if w["network"] else "?"),
        ]
        for w in wallets
    ]
    print_table(f"Wallets in {root}", ["name", "network", "kind", "problem"], rows)
    return 0
