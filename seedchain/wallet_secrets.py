"""``seedchain wallet``: reading secrets — the password, recovery phrase and passphrase — from a
file, standard input or a terminal prompt (never from the command line).

May import the standard library and ``seedchain.cli``; nothing of ``wallet``, ``node``, ``p2p``,
``pool`` or ``mining``. A secret's contents never appear in an error.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from seedchain.cli import CommandError
from seedchain.textfile import TextFileError, read_text_file

MAX_SECRET_FILE = 64 * 1024


def read_secret_file(path: str, what: str) -> str:
    """A password, phrase or passphrase from a file (``-``: standard input); one trailing
    newline is removed. The contents never appear in an error."""
    try:
        text = read_text_file(path, MAX_SECRET_FILE)
    except TextFileError as exc:
        raise CommandError(f"the {what} file {path} {exc}") from None
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    return text


def prompt_secret(prompt: str, what: str) -> str:
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
        password = prompt_secret("Wallet password: ", "password")
        if confirm and prompt_secret("Repeat the password: ", "password") != password:
            raise CommandError("the passwords do not match")
    if confirm and not password:
        raise CommandError("the password must not be empty")
    return password


def read_new_password(args: argparse.Namespace) -> str:
    """The new password of ``wallet password``: from ``--new-password-file``, or asked twice."""
    path = args.new_password_file
    if path:
        password = read_secret_file(path, "new password")
    else:
        password = prompt_secret("New wallet password: ", "new password")
        if prompt_secret("Repeat the new password: ", "new password") != password:
            raise CommandError("the new passwords do not match")
    if not password:
        raise CommandError("the new password must not be empty")
    return password
