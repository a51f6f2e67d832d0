"""``seedchain wallet``: printing results — JSON (``--json``; amounts in base units), a rich
table on a terminal, or plain aligned text otherwise (exact decimal coins).

May import the standard library, ``rich`` (lazily, only on a terminal) and ``wallet`` (lazily,
for amounts and for types); never ``node``, ``p2p``, ``pool`` or ``mining``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wallet.history import HistoryEntry, WalletCoin


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2))


def is_tty() -> bool:
    return sys.stdout.isatty()


def print_pairs(pairs: Sequence[tuple[str, str]]) -> None:
    if is_tty():
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


def print_table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()
) -> None:
    if is_tty():
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


def format_coins(units: int) -> str:
    from wallet.amounts import format_amount

    return format_amount(units)


def format_rate(rate: int) -> str:
    return f"{rate} unit/byte" if rate == 1 else f"{rate} units/byte"


def format_signed(units: int) -> str:
    return ("+" if units > 0 else "") + format_coins(units)


def status_text(entry: HistoryEntry) -> str:
    if entry.status == "confirmed":
        return f"{entry.confirmations} conf"
    return entry.status


def coin_flags(coin: WalletCoin) -> str:
    flags = []
    if coin.height is None:
        flags.append("unconfirmed")
    if not coin.mature:
        flags.append("immature")
    if coin.reserved:
        flags.append("reserved")
    if not coin.trusted:
        flags.append("untrusted")
    if coin.frozen:
        flags.append("frozen")
    return ",".join(flags)
