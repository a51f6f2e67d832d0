"""``seedchain wallet`` commands that sync with the node: ``balance``, ``history``, ``utxos``,
``send`` and ``bump``.

May import the standard library, ``consensus``, ``wallet`` (lazily) and the ``seedchain``
modules ``cli``, ``wallet_context`` and ``wallet_output``; never ``node``, ``p2p``, ``pool`` or
``mining``. Each handler takes the parsed arguments and returns the exit code; a
:class:`wallet.errors.WalletError` is turned into a one-line error by the caller.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from seedchain.cli import CommandError
from seedchain.wallet_commands_offline import new_file, print_unsigned_send, written
from seedchain.wallet_context import (
    fee_rate_option,
    synced,
    synced_with_labels,
    txid_argument,
    update_metadata,
    wallet_location,
    with_session,
)
from seedchain.wallet_output import (
    coin_flags,
    format_coins,
    format_rate,
    format_signed,
    print_json,
    print_pairs,
    print_table,
    status_text,
)
from seedchain.wallet_send_args import send_request

T = TypeVar("T")

if TYPE_CHECKING:
    from wallet.engine import WalletSession
    from wallet.history import HistoryEntry, WalletCoin
    from wallet.results import BumpResult


def cmd_balance(args: argparse.Namespace) -> int:
    view = with_session(args, synced)
    balance = view.balance
    if args.json:
        print_json({**balance.to_json(), "tip_height": view.tip_height})
        return 0
    pairs = [
        ("confirmed", format_coins(balance.confirmed)),
        ("unconfirmed", format_signed(balance.unconfirmed)),
        ("total", format_coins(balance.total)),
        ("immature", format_coins(balance.immature)),
        ("spendable", format_coins(balance.spendable)),
    ]
    if balance.reserved:
        pairs.append(("reserved", format_coins(balance.reserved)))
    if balance.frozen:
        pairs.append(("frozen", format_coins(balance.frozen)))
    pairs.append(("tip height", str(view.tip_height)))
    print_pairs(pairs)
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise CommandError("--limit must be at least 1")
    view, labels = with_session(args, synced_with_labels)
    entries = view.history if args.limit is None else view.history[: args.limit]
    shown = [{**data, "label": labels.get(data["txid"])} for data in map(_json, entries)]
    if args.json:
        print_json({"tip_height": view.tip_height, "transactions": shown})
        return 0
    if args.csv:
        _print_csv(shown)
        return 0
    rows = []
    for entry, data in zip(entries, shown, strict=True):
        kind = "coinbase" if entry.coinbase else ("received" if entry.net >= 0 else "sent")
        rows.append(
            [
                status_text(entry),
                "" if entry.height is None else str(entry.height),
                kind,
                format_signed(entry.net),
                "" if entry.fee is None else format_coins(entry.fee),
                str(data["txid"]),
                str(data["label"] or ""),
            ]
        )
    headers = ["status", "height", "type", "amount", "fee", "txid", "label"]
    if not any(data["label"] for data in shown):
        headers.pop()
        rows = [row[:-1] for row in rows]
    print_table(f"History (tip {view.tip_height})", headers, rows, right=(1, 3, 4))
    return 0


CSV_COLUMNS = ("txid", "status", "height", "confirmations", "time", "amount", "fee", "label")


def _print_csv(shown: list[dict[str, Any]]) -> None:
    """Electrum's history export: one row per transaction, newest first; ``amount`` is the
    signed change to the balance and ``fee`` what we paid, in exact decimal coins; ``time``
    is the block's, in UTC (ISO 8601), empty while unconfirmed."""
    import csv
    import datetime
    import sys

    from wallet.amounts import format_amount

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for data in shown:
        stamp = data["block_time"]
        when = (
            ""
            if stamp is None
            else datetime.datetime.fromtimestamp(stamp, datetime.UTC).isoformat()
        )
        net = data["net"]
        amount = ("-" if net < 0 else "") + format_amount(abs(net))
        fee = "" if data["fee"] is None else format_amount(data["fee"])
        height = "" if data["height"] is None else data["height"]
        row = [data["txid"], data["status"], height, data["confirmations"], when, amount, fee]
        writer.writerow([*row, _csv_safe(data["label"] or "")])


def _csv_safe(text: str) -> str:
    """A label opened by a spreadsheet must not run as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _json(entry: HistoryEntry) -> dict[str, Any]:
    return entry.to_json()


def cmd_utxos(args: argparse.Namespace) -> int:
    from consensus.addresses import lock_to_address
    from wallet.keys import format_path, wallet_path

    view, labels = with_session(args, synced_with_labels)
    hrp = wallet_location(args).params.hrp

    def label_of(coin: WalletCoin) -> str | None:
        txid = str(coin.outpoint).rpartition(":")[0]
        return labels.get(lock_to_address(coin.lock, hrp)) or labels.get(txid)

    if args.json:
        print_json(
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
                        "frozen": coin.frozen,
                        "label": label_of(coin),
                    }
                    for coin in view.coins
                ],
            }
        )
        return 0
    rows = [
        [
            str(coin.outpoint),
            format_coins(coin.value),
            str(coin.confirmations),
            lock_to_address(coin.lock, hrp),
            coin_flags(coin),
            label_of(coin) or "",
        ]
        for coin in view.coins
    ]
    print_table(
        f"Unspent outputs (tip {view.tip_height})",
        ["outpoint", "amount", "conf", "address", "flags", "label"],
        rows,
        right=(1, 2),
    )
    return 0


def cmd_send(args: argparse.Namespace) -> int:
    from wallet.coincontrol import parse_choice

    location = wallet_location(args)
    asked = send_request(args, location.params)
    request = asked.request
    fee_rate = fee_rate_option(args)
    only = parse_choice(args.coin_from or [], location.params)
    if args.unsigned and args.dry_run:
        raise CommandError("--unsigned and --dry-run do not go together")
    unsigned_path = None if args.unsigned is None else new_file(args.unsigned)
    unsigned = unsigned_path is not None

    async def body(session: WalletSession) -> Any:
        if asked.sweep_to is not None:
            return await session.send_all(
                asked.sweep_to, fee_rate, dry_run=args.dry_run, only=only, unsigned=unsigned
            )
        return await session.send_many(
            asked.payments,
            fee_rate,
            dry_run=args.dry_run,
            only=only,
            unsigned=unsigned,
            subtract_fee_from=asked.subtract_fee_from,
        )

    result = with_session(args, body)
    if unsigned_path is not None:
        return print_unsigned_send(args, result, unsigned_path)
    data = result.to_json()
    refused = result.dry_run and not data["allowed"]
    note = None if request is None else (request.message or request.label)
    if note and not result.dry_run:  # the request's words become the payment's label
        from wallet.labels import with_label

        data["label"] = note
        update_metadata(location, lambda meta: with_label(meta, data["txid"], note))
    if args.json:
        print_json(data)
        return 1 if refused else 0
    if refused:
        raise CommandError(f"the node would refuse it: {data['reject_reason']} (nothing sent)")
    verb = "would send" if result.dry_run else "sent"
    sent = [(verb, f"{format_coins(v)} to {a}") for a, v in result.payments]
    print_pairs(
        [
            *sent,
            ("txid", data["txid"]),
            (
                "fee",
                f"{format_coins(result.fee)} ({format_rate(result.fee_rate)}, {result.size} bytes)"
                + (", taken from the amount" if result.fee_from_amount else ""),
            ),
            ("change", "none" if result.change is None else format_coins(result.change)),
            *([("dry run", "the node would accept it; nothing sent")] if result.dry_run else []),
        ]
    )
    return 0


def _on_txid(
    args: argparse.Namespace, call: Callable[[WalletSession, bytes, int | None], Awaitable[T]]
) -> T:
    """``bump`` and ``cpfp``: the TXID and ``--fee-rate`` checked before the password, then
    ``call(session, txid, fee_rate)`` under the wallet's lock."""
    txid = txid_argument(args)
    fee_rate = fee_rate_option(args)

    async def body(session: WalletSession) -> T:
        return await call(session, txid, fee_rate)

    return with_session(args, body)


def cmd_cpfp(args: argparse.Namespace) -> int:
    path = None if args.unsigned is None else new_file(args.unsigned)
    result = _on_txid(args, lambda s, txid, rate: s.cpfp(txid, rate, unsigned=path is not None))
    data = written(result.to_json(), result.unsigned_file, path)
    if args.json:
        print_json(data)
        return 0
    print_pairs(
        [
            ("child", str(data["txid"])),
            ("parent", str(data["parent"])),
            ("fee", f"{format_coins(result.fee)} ({result.size} bytes)"),
            ("together", f"{result.package_fee_rate:.2f} units/byte"),
            ("kept", format_coins(result.value)),
            *([("unsigned", f"written to {path}: nothing sent")] if path else []),
        ]
    )
    return 0


def cmd_bump(args: argparse.Namespace) -> int:
    path = None if args.unsigned is None else new_file(args.unsigned)
    unsigned, decrease = path is not None, args.decrease_payment
    result = _on_txid(
        args,
        lambda s, txid, rate: s.bump(txid, rate, unsigned=unsigned, decrease_payment=decrease),
    )
    return _print_replacement(args, result, path)


def cmd_cancel(args: argparse.Namespace) -> int:
    path = None if args.unsigned is None else new_file(args.unsigned)
    result = _on_txid(args, lambda s, txid, rate: s.cancel(txid, rate, unsigned=path is not None))
    return _print_replacement(args, result, path)


def _print_replacement(args: argparse.Namespace, result: BumpResult, path: Path | None) -> int:
    data = written(result.to_json(), result.unsigned_file, path)
    if args.json:
        print_json(data)
        return 0
    print_pairs(
        [
            ("replaced", str(data["replaces"])),
            ("txid", str(data["txid"])),
            (
                "fee",
                f"{format_coins(result.fee)} (was {format_coins(result.old_fee)};"
                f" {format_rate(result.fee_rate)}, {result.size} bytes)",
            ),
            *([("unsigned", f"written to {path}: nothing sent")] if path else []),
        ]
    )
    return 0
