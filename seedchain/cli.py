"""The ``seedchain`` console script.

Each subcommand lives in its own ``seedchain.cmd_<name>`` module exposing
``register(subparsers)``; it adds its parser and sets ``handler`` (a callable taking the parsed
``argparse.Namespace`` and returning the exit code). Modules are imported lazily by name so that
``seedchain wallet`` never loads the node. Bad input exits non-zero with a one-line error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS = (
    "node", "status", "stop", "wallet", "mine", "pool", "miner", "audit", "bench", "demo", "verify",
)  # fmt: skip


class CommandError(Exception):
    """A user-facing error: printed as one line, exit code 1."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seedchain", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"seedchain.cmd_{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"seedchain.cmd_{name}":
                raise
            continue
        module.register(sub)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``argv`` (default: ``sys.argv[1:]``). ``command_argv`` on the result holds the
    command's own arguments, so a command can tell what its command line set (a
    configuration file fills in only the rest, see ``seedchain.conffile``)."""
    words = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(words)
    args.command_argv = words[words.index(args.command) + 1 :]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        code = args.handler(args)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
