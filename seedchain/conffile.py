"""Configuration files for long-running commands (Bitcoin Core's ``bitcoin.conf``).

``seedchain node`` reads ``<datadir>/seedchain.conf`` and ``seedchain pool``
``<pool datadir>/pool.conf`` when it exists, or the file named by ``--conf``
(``SEEDCHAIN_CONF``), which must exist. The format::

    # a comment; blank lines are ignored
    cache-mb = 512
    peer = 10.0.0.2:8433          # repeatable options take one line per value
    no-addrbook-dial = 1          # switches take 1/0, true/false, yes/no, on/off

    [regtest]                     # lines below apply only to this network
    api-bind = 127.0.0.1:18500

A key is a long option of the command without its dashes. A network section (``[main]``,
``[test]``, ``[regtest]``) overrides the top of the file for that network, key by key.
Precedence, highest first: the command line, the ``SEEDCHAIN_*`` environment, the file, the
built-in default. ``network``, ``datadir`` and ``conf`` choose the file, so they are refused in
it. An unknown key or section, a value the option refuses, a key given twice in one place or a
file over 1 MiB is an error naming the file and line, and the command does not start.

May import the standard library and ``seedchain.textfile``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seedchain.textfile import TextFileError, read_text_file

CONF_NAME = "seedchain.conf"
MAX_CONF_BYTES = 1 << 20
NETWORKS = ("main", "test", "regtest")
# These decide which file is read, so a file cannot set them.
CHOOSES_THE_FILE = frozenset({"network", "datadir", "conf"})
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class ConfFileError(ValueError):
    """A configuration file the command cannot use (one line, naming the file and line)."""


@dataclass(frozen=True)
class Setting:
    key: str
    value: str
    line: int


def parse_conf(text: str, network: str, source: str = CONF_NAME) -> dict[str, list[Setting]]:
    """The settings of ``text`` that apply to ``network``: for each key, its lines in the
    network's section if it has any there, else its lines at the top of the file."""
    top: dict[str, list[Setting]] = {}
    sections: dict[str, dict[str, list[Setting]]] = {name: {} for name in NETWORKS}
    current = top
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{source} line {number}"
        if line.startswith("["):
            name = line[1:-1].strip() if line.endswith("]") else ""
            if name not in sections:
                raise ConfFileError(
                    f"{where}: unknown section {line!r}; sections are "
                    + ", ".join(f"[{n}]" for n in NETWORKS)
                )
            current = sections[name]
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfFileError(f"{where}: expected key = value, got {raw.strip()!r}")
        current.setdefault(key, []).append(Setting(key, value.strip(), number))
    return {**top, **sections[network]}


def read_conf(path: Path, network: str) -> dict[str, list[Setting]]:
    """``parse_conf`` of the file at ``path`` (UTF-8, at most ``MAX_CONF_BYTES``)."""
    try:
        text = read_text_file(path, MAX_CONF_BYTES)
    except TextFileError as exc:
        raise ConfFileError(f"{path} {exc}") from None
    return parse_conf(text, network, str(path))


def given_on_command_line(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """The destinations of the options ``argv`` (the command's own arguments) sets."""
    saved = [(action, action.default) for action in parser._actions]
    try:
        for action, _ in saved:
            action.default = argparse.SUPPRESS
        return set(vars(parser.parse_args(list(argv))))
    finally:
        for action, default in saved:
            action.default = default


def apply_conf(
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    settings: Mapping[str, list[Setting]],
    *,
    given: set[str],
    env_names: Mapping[str, str],
    source: str,
    environ: Mapping[str, str] = os.environ,
) -> None:
    """Set on ``args`` each option of ``settings`` that neither the command line (``given``)
    nor its ``SEEDCHAIN_*`` variable (``env_names``: destination -> variable) has set."""
    options = parser._option_string_actions
    for key, lines in settings.items():
        where = f"{source} line {lines[0].line}"
        if key in CHOOSES_THE_FILE:
            raise ConfFileError(f"{where}: {key} cannot be set in a configuration file")
        action = options.get(f"--{key}")
        if action is None or isinstance(action, argparse._HelpAction):
            raise ConfFileError(f"{where}: unknown option {key!r}")
        dest = action.dest
        if dest in given or environ.get(env_names.get(dest, f"SEEDCHAIN_{dest.upper()}")):
            continue
        try:
            value = _convert(action, key, lines)
        except (TypeError, ValueError, argparse.ArgumentTypeError) as exc:
            line = exc.line if isinstance(exc, _LineError) else lines[0].line
            raise ConfFileError(f"{source} line {line}: {key}: {exc}") from None
        setattr(args, dest, value)


def apply_conf_file(
    args: argparse.Namespace, default_path: Path, env_names: Mapping[str, str]
) -> None:
    """Fill ``args`` (parsed by ``seedchain.cli.parse_args``, whose command set
    ``command_parser``) from ``args.conf``, or else ``default_path`` if it exists, where
    neither the command line nor the environment set an option."""
    path = Path(args.conf).expanduser() if args.conf else default_path
    if not args.conf and not path.is_file():
        return
    parser: argparse.ArgumentParser = args.command_parser
    apply_conf(
        args,
        parser,
        read_conf(path, args.network),
        given=given_on_command_line(parser, args.command_argv),
        env_names=env_names,
        source=str(path),
    )


class _LineError(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def _convert(action: argparse.Action, key: str, lines: list[Setting]) -> Any:
    if isinstance(action, argparse._AppendAction):
        return [_one(action, s) for s in lines]
    if len(lines) > 1:
        raise _LineError(f"set twice (also on line {lines[0].line})", lines[1].line)
    setting = lines[0]
    if isinstance(action, argparse.BooleanOptionalAction):
        value = _boolean(setting)
        return not value if key.startswith("no-") else value
    if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
        value = _boolean(setting)
        return value if isinstance(action, argparse._StoreTrueAction) else not value
    if isinstance(action, argparse._StoreAction):
        return _one(action, setting)
    raise _LineError("cannot be set in a configuration file", setting.line)


def _one(action: argparse.Action, setting: Setting) -> Any:
    convert = action.type if callable(action.type) else str
    try:
        value = convert(setting.value)
    except (TypeError, ValueError, argparse.ArgumentTypeError):
        raise _LineError(f"invalid value {setting.value!r}", setting.line) from None
    if action.choices is not None and value not in action.choices:
        choices = ", ".join(map(str, action.choices))
        raise _LineError(f"{setting.value!r} is not one of {choices}", setting.line)
    return value


def _boolean(setting: Setting) -> bool:
    word = setting.value.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise _LineError(f"expected 1 or 0, got {setting.value!r}", setting.line)
