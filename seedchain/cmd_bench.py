"""``seedchain bench``: performance measurements.

``seedchain bench pow [--seconds S] [--threads N] [--variants] [--json]`` measures the
proof-of-work hash rate of every backend at 1..N threads against the hashlib-derived ceiling
measured in the same run (see ``mining.bench``): a table on a terminal, plain text otherwise,
a JSON list with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from seedchain.cli import CommandError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("bench", help="measure performance on this machine")
    benches = parser.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)
    pow_parser = benches.add_parser(
        "pow", help="proof-of-work MH/s per backend and thread count, against a ceiling"
    )
    pow_parser.add_argument(
        "--seconds", type=float, default=2.0, help="seconds per measurement (default 2)"
    )
    pow_parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="measure 1, powers of two below N, and N threads (default: CPU count)",
    )
    pow_parser.add_argument(
        "--variants", action="store_true", help="also measure each native variant on its own"
    )
    pow_parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    pow_parser.set_defaults(handler=run_pow)


def run_pow(args: argparse.Namespace) -> int:
    from consensus.nonce_search import native_features
    from mining.bench import bench_pow, default_thread_counts

    if args.seconds <= 0:
        raise CommandError("--seconds must be > 0")
    if args.threads is not None and args.threads < 1:
        raise CommandError("--threads must be >= 1")
    rows = bench_pow(args.seconds, default_thread_counts(args.threads), all_variants=args.variants)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    title = f"Proof of work (native: {native_features()}), MH/s"
    table = [
        [
            row["backend"],
            str(row["threads"]),
            f"{row['mhs']:.2f}",
            f"{row['ceiling_mhs']:.2f}",
            f"{row['ratio']:.2f}",
        ]
        for row in rows
    ]
    if sys.stdout.isatty():
        _print_rich(title, table)
    else:
        _print_plain(title, table)
    return 0


HEADERS = ("backend", "threads", "MH/s", "ceiling MH/s", "ratio")


def _print_rich(title: str, table: Sequence[Sequence[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    view = Table(title=title)
    for index, header in enumerate(HEADERS):
        view.add_column(header, justify="left" if index == 0 else "right")
    for row in table:
        view.add_row(*row)
    Console().print(view)


def _print_plain(title: str, table: Sequence[Sequence[str]]) -> None:
    widths = [max(len(HEADERS[i]), *(len(row[i]) for row in table)) for i in range(len(HEADERS))]
    print(title)
    print(
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(HEADERS, widths, strict=True))
        )
    )
    for row in table:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
